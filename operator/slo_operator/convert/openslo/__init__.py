"""OpenSLO v1 documents into ServiceLevelObjective manifests, reporting what cannot be converted.

The input is untrusted YAML (dicts, lists, scalars); every value is checked before it is used, and
nothing is dropped without a finding that names the document and the field:

- `error`: the SLO cannot be converted (a non-Prometheus source, free PromQL, a composite SLO);
  it is not written.
- `problem`: the SLO is written, but something in it means more than we could express (a burn
  rate condition we do not generate, a calendar start that is not a period start); the CLI exits
  1 so a person looks.
- `note`: information with no place in our model that changes neither what is measured nor what
  alerts (notification targets, display names, resolved notifications).

docs/openslo.md has the mapping table and the reasons behind each refusal. The modules follow the
document: `references` indexes the input, `indicators`, `time_windows`, `objective_targets` and
`alerts` convert one part of an SLO each, `converter` puts one SLO together and runs the whole
input; `reporting` and `reading` are what they all share.
"""

from .converter import DISPLAY_NAME_ANNOTATION, convert_documents, locate
from .reporting import Conversion, Converted, Finding, Severity, document_place
from .vocabulary import API_VERSION, KINDS, PRIMARY_OBJECTIVE_ANNOTATION

__all__ = [
    "API_VERSION",
    "DISPLAY_NAME_ANNOTATION",
    "KINDS",
    "PRIMARY_OBJECTIVE_ANNOTATION",
    "Conversion",
    "Converted",
    "Finding",
    "Severity",
    "convert_documents",
    "document_place",
    "locate",
]
