"""Named metrics backends: where to query, how to authenticate, and which namespaces may use one.

The operator reads them from the YAML file given with `--backends-file`; `--prometheus-url`
adds a backend named `default`. An SLO picks one with `spec.backend`, or uses `default`.

```yaml
backends:
  - name: default
    url: http://prometheus.monitoring:9090
  - name: mimir-team-a
    url: https://mimir.example.com/prometheus
    headers: {X-Scope-OrgID: team-a}
    bearerTokenFile: /var/run/secrets/mimir/token
    caFile: /etc/slo-operator/ca.crt
    namespaces: [team-a, "team-a-*"]
  - name: thanos
    url: http://thanos-query.monitoring:9090
    queryParameters: {dedup: "true", partial_response: "false"}
```
Secrets are read from files (a mounted Secret) when a query is sent, so a rotated token is used
without a restart, and never appear in the configuration itself.
"""

from __future__ import annotations

import fnmatch
import pathlib
from typing import Any

import pydantic
import yaml

from .. import errors
from ..api import common

DEFAULT_BACKEND = "default"
RESERVED_QUERY_PARAMETERS = frozenset({"query", "time", "start", "end", "step"})


class _Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(**common.WIRE_CONFIG, frozen=True)


class BasicAuth(_Model):
    """HTTP basic auth, both parts read from files."""

    username_file: str
    """File holding the user name."""
    password_file: str
    """File holding the password."""


class BackendConfig(_Model):
    """One metrics backend speaking the Prometheus HTTP API."""

    name: str = pydantic.Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)
    """What `spec.backend` names."""
    url: str = pydantic.Field(pattern=r"^https?://")
    """Base URL; `/api/v1/query` is appended (for Mimir include its `/prometheus` prefix)."""
    headers: dict[str, str] = pydantic.Field(default_factory=dict)
    """Extra HTTP headers, e.g. `X-Scope-OrgID` for a Mimir or Cortex tenant."""
    bearer_token_file: str | None = None
    """File holding a bearer token."""
    basic_auth: BasicAuth | None = None
    """Basic auth from files."""
    ca_file: str | None = None
    """CA bundle to verify the backend's TLS certificate."""
    insecure_skip_verify: bool = False
    """Do not verify TLS: refused unless the operator runs with `--allow-insecure-backends`, and
    named in the Ready condition of every object evaluated through it."""
    namespaces: list[str] | None = None
    """Namespaces allowed to use this backend; shell patterns like `team-*`. Absent: all."""
    timeout_seconds: float = pydantic.Field(default=30.0, gt=0)
    """Per-request timeout."""
    query_parameters: dict[str, str] = pydantic.Field(default_factory=dict)
    """Extra parameters sent with every query, e.g. Thanos Query's `dedup` and
    `partial_response` (docs/engines.md). The query's own (`query`, `time`, `start`, `end`,
    `step`) cannot be overridden."""

    @pydantic.field_validator("query_parameters")
    @classmethod
    def _no_reserved_parameters(cls, parameters: dict[str, str]) -> dict[str, str]:
        reserved = sorted(set(parameters) & RESERVED_QUERY_PARAMETERS)
        if reserved:
            raise ValueError(f"{', '.join(reserved)}: set by each query, not by the backend")
        return parameters

    @pydantic.model_validator(mode="after")
    def _one_auth(self) -> BackendConfig:
        if self.bearer_token_file and self.basic_auth:
            raise ValueError("give bearerTokenFile or basicAuth, not both")
        return self

    def allows(self, namespace: str) -> bool:
        """Whether objects in `namespace` may query this backend."""
        if self.namespaces is None:
            return True
        return any(fnmatch.fnmatchcase(namespace, pattern) for pattern in self.namespaces)


class BackendsFile(_Model):
    backends: list[BackendConfig] = pydantic.Field(default_factory=list)


class Backends:
    """The configured backends by name, and the allow-list check."""

    def __init__(self, backends: list[BackendConfig]) -> None:
        self.by_name: dict[str, BackendConfig] = {}
        for backend in backends:
            if backend.name in self.by_name:
                raise ValueError(f"backend {backend.name!r} is configured twice")
            self.by_name[backend.name] = backend

    def __bool__(self) -> bool:
        return bool(self.by_name)

    def resolve(self, name: str | None, namespace: str) -> BackendConfig:
        """The backend an object in `namespace` asked for; BackendNotAllowed if it may not."""
        wanted = name or DEFAULT_BACKEND
        backend = self.by_name.get(wanted)
        if backend is None:
            known = ", ".join(sorted(self.by_name)) or "none"
            raise errors.BackendNotAllowed(
                wanted, namespace, f"no such backend is configured (configured: {known})"
            )
        if not backend.allows(namespace):
            raise errors.BackendNotAllowed(
                wanted,
                namespace,
                f"the namespace is not in the backend's allow-list {backend.namespaces}",
            )
        return backend


def load(
    prometheus_url: str | None, backends_file: str | None, *, allow_insecure: bool = False
) -> Backends:
    """The backends from the operator's flags; ValueError with the file and field if invalid,
    or if a backend turns TLS verification off without `allow_insecure`."""
    backends: list[BackendConfig] = []
    if backends_file:
        path = pathlib.Path(backends_file)
        try:
            raw: Any = yaml.safe_load(path.read_text()) or {}
            backends = list(BackendsFile.model_validate(raw).backends)
        except (OSError, yaml.YAMLError, pydantic.ValidationError) as error:
            raise ValueError(f"{path}: {error}") from error
        for index, backend in enumerate(backends):
            if backend.insecure_skip_verify and not allow_insecure:
                raise ValueError(
                    f"{path}: backends[{index}].insecureSkipVerify: TLS verification of backend "
                    f"{backend.name!r} may be turned off only when the operator runs with "
                    "--allow-insecure-backends"
                )
    if prometheus_url:
        if any(backend.name == DEFAULT_BACKEND for backend in backends):
            raise ValueError(
                f"--prometheus-url and a backend named {DEFAULT_BACKEND!r} in "
                f"{backends_file} both define the default backend"
            )
        backends.insert(0, BackendConfig(name=DEFAULT_BACKEND, url=prometheus_url))
    return Backends(backends)
