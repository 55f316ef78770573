"""One exception hierarchy for the whole operator; each error carries the data to explain itself.

Exceptions are mapped to kopf's PermanentError / TemporaryError in exactly one place
(`slo_operator.kube`), and to `file:line:column: Kind name: field: message` lines by the CLI.
"""

from __future__ import annotations


class SLOError(Exception):
    """Base of every error the operator raises on purpose."""


class InvalidSpec(SLOError):
    """A manifest breaks a rule of the API; `field` is a dotted path like `spec.window`."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


class BackendUnavailable(SLOError):
    """A metrics backend could not answer; the cause is kept so the status can say why."""

    def __init__(self, backend: str, cause: str) -> None:
        super().__init__(f"backend {backend!r} unavailable: {cause}")
        self.backend = backend
        self.cause = cause


class BackendNotAllowed(SLOError):
    """An object asked for a backend its namespace may not use, or one that does not exist."""

    def __init__(self, backend: str, namespace: str, reason: str) -> None:
        super().__init__(f"backend {backend!r} cannot serve namespace {namespace!r}: {reason}")
        self.backend = backend
        self.namespace = namespace
        self.reason = reason


class FieldProblem(ValueError):
    """Raised inside model validators so the error can name a field below the model.

    pydantic keeps the original exception in `errors()[i]["ctx"]["error"]`; the validation
    layer appends `path` to the location pydantic reports.
    """

    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
