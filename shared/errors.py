"""Errors that domain code raises. Free of gRPC: `shared.grpc_errors` maps them to AIP-193 statuses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum


class ErrorKind(Enum):
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    ABORTED = "ABORTED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    UNIMPLEMENTED = "UNIMPLEMENTED"


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field: `field` is its path in the request, e.g. `enterprise.uscc`."""

    field: str
    description: str


@dataclass
class IntegrityError(Exception):
    """A request that cannot be served as asked. `reason` is a stable UPPER_SNAKE code (ErrorInfo)."""

    message: str
    reason: str
    kind: ErrorKind = ErrorKind.FAILED_PRECONDITION
    metadata: dict[str, str] = field(default_factory=dict)
    field_violations: list[FieldViolation] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class StorageConflict(Exception):
    """A unique constraint or an etag check refused the write: another transaction got there first.

    Raised by a unit of work's commit (`shared.unit_of_work`); here so that use cases can catch it
    without importing the SQL layer.
    """


def invalid_argument(violations: list[FieldViolation], message: str | None = None) -> IntegrityError:
    summary = message or "; ".join(f"{v.field}: {v.description}" for v in violations)
    return IntegrityError(
        summary, "INVALID_ARGUMENT", ErrorKind.INVALID_ARGUMENT, field_violations=list(violations)
    )


def not_found(resource: str) -> IntegrityError:
    return IntegrityError(
        f"{resource} does not exist", "NOT_FOUND", ErrorKind.NOT_FOUND, {"resource": resource}
    )


def already_exists(resource: str, hint: str = "") -> IntegrityError:
    message = f"{resource} already exists" + (f"; {hint}" if hint else "")
    return IntegrityError(message, "ALREADY_EXISTS", ErrorKind.ALREADY_EXISTS, {"resource": resource})


def permission_denied(message: str, reason: str = "PERMISSION_DENIED") -> IntegrityError:
    return IntegrityError(message, reason, ErrorKind.PERMISSION_DENIED)


def unauthenticated(message: str, reason: str = "UNAUTHENTICATED") -> IntegrityError:
    return IntegrityError(message, reason, ErrorKind.UNAUTHENTICATED)


def failed_precondition(message: str, reason: str) -> IntegrityError:
    return IntegrityError(message, reason, ErrorKind.FAILED_PRECONDITION)


def invalid_transition(resource: str, current: str, requested: str, allowed: Iterable[str]) -> IntegrityError:
    """FAILED_PRECONDITION for a lifecycle move the resource's state does not allow, naming the moves it
    does allow (states by their short names, e.g. RECTIFYING)."""
    options = sorted(allowed)
    return IntegrityError(
        f"{resource} is {current}; it cannot become {requested} "
        f"(from {current} it can become: {', '.join(options) or 'nothing (it is final)'})",
        "INVALID_STATE_TRANSITION",
        ErrorKind.FAILED_PRECONDITION,
        {
            "resource": resource,
            "current_state": current,
            "requested_state": requested,
            "allowed_states": ",".join(options),
        },
    )


def concurrent_change(resource: str) -> IntegrityError:
    """ABORTED: another request changed `resource` between this one's read and its guarded write (a state or
    etag condition in the database); nothing was written."""
    return IntegrityError(
        f"{resource} was changed by another request at the same moment; nothing was written. Read it again "
        "and retry if the change is still needed",
        "CONCURRENT_CHANGE",
        ErrorKind.ABORTED,
        {"resource": resource},
    )


def unimplemented(method: str, issue: str) -> IntegrityError:
    return IntegrityError(
        f"{method} is not implemented yet ({issue})", "NOT_IMPLEMENTED", ErrorKind.UNIMPLEMENTED
    )
