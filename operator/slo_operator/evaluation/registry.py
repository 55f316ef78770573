"""The objects the evaluation loop measures, fed by watch events.

Why an event-fed registry and not a `@kopf.index`: kopf hands indexes only to handlers as
keyword arguments, while the loop is one free-running task that no handler owns; it would have to
smuggle the index out of a handler anyway. This registry is a plain class (tested without kopf),
receives every change including the status the loop itself wrote (which it compares against, so
unchanged values are never written), and sees deletions explicitly. kopf's watch feeds it through
one `@kopf.on.event` handler per kind in `kube.handlers`.

It keeps of each body only what its readers use (`kept`): the bodies the apiserver delivers
carry `metadata.managedFields` and annotations (kubectl's last-applied-configuration, kopf's
last-handled-configuration, each a copy of the spec) that at 10,000 objects weigh more than the
specs and statuses together.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

KEPT_METADATA = ("name", "namespace", "uid", "generation", "creationTimestamp", "labels")
"""The metadata the registry's readers use: the reference, the parse cache's key (uid and
generation), an SLA's first period (creationTimestamp) and the web UI's manifest (labels). No
reader looks at annotations, managedFields, finalizers or owner references."""


def kept(body: Mapping[str, Any]) -> dict[str, Any]:
    """`body` without the metadata no reader uses (a shallow copy: values are shared)."""
    metadata = body.get("metadata") or {}
    trimmed = {key: metadata[key] for key in KEPT_METADATA if key in metadata}
    return {**body, "metadata": trimmed}


@dataclasses.dataclass(frozen=True)
class ObjectRef:
    """Which object: kind, namespace and name."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}"


@dataclasses.dataclass(frozen=True)
class Entry:
    """The newest body the watch delivered for one object."""

    ref: ObjectRef
    body: Mapping[str, Any]

    @property
    def uid(self) -> str:
        return str(self.body.get("metadata", {}).get("uid", ""))

    @property
    def generation(self) -> int | None:
        generation = self.body.get("metadata", {}).get("generation")
        return int(generation) if generation is not None else None

    @property
    def status(self) -> Mapping[str, Any]:
        return self.body.get("status") or {}


class Registry:
    """Every watched SLO and SLA, by reference; safe to read while events arrive (one loop)."""

    def __init__(self) -> None:
        self._entries: dict[ObjectRef, Entry] = {}

    def upsert(self, kind: str, body: Mapping[str, Any], *, handed_over: bool = False) -> None:
        """Record the newest body of an object (from a watch event or a listing), as far as
        `kept`; a copy of it, unless the caller hands the body over (built for the registry,
        never changed after)."""
        metadata = body.get("metadata", {})
        ref = ObjectRef(kind, metadata.get("namespace") or "default", metadata["name"])
        trimmed = kept(body)
        self._entries[ref] = Entry(ref, trimmed if handed_over else copy.deepcopy(trimmed))

    def remove(self, kind: str, namespace: str, name: str) -> None:
        self._entries.pop(ObjectRef(kind, namespace, name), None)

    def entries(self, kind: str | None = None) -> list[Entry]:
        """A snapshot: later events do not change the list a cycle works on."""
        return [e for e in self._entries.values() if kind is None or e.ref.kind == kind]

    def get(self, ref: ObjectRef) -> Entry | None:
        return self._entries.get(ref)

    def __len__(self) -> int:
        return len(self._entries)
