"""AIP-155 request ids: a create repeated with the same request id returns what the first one created.

Every service's creates use these, so a request id means the same everywhere: empty or a UUID, stored
in lower case, and reusing one for a different request is ALREADY_EXISTS (REQUEST_ID_REUSED).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from shared.errors import (
    ErrorKind,
    FieldViolation,
    IntegrityError,
    StorageConflict,
    concurrent_change,
    invalid_argument,
)

T = TypeVar("T")

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def request_id_problem(request_id: str) -> str | None:
    """What is wrong with a request id, or None (empty means "no idempotency asked for")."""
    if request_id and not _UUID.fullmatch(request_id):
        return "must be empty or a UUID, e.g. 3f1c2a9e-8d4b-4c6f-9a1e-2b7d5c0e4f81 (AIP-155)"
    return None


def normalize_request_id(request_id: str) -> str | None:
    """The stored form of a valid request id: lower case, or None when absent."""
    return request_id.lower() if request_id else None


def request_key(request_id: str, field: str = "request_id") -> str | None:
    """The stored form of a valid request id (None when absent); INVALID_ARGUMENT on `field` otherwise."""
    if (problem := request_id_problem(request_id)) is not None:
        raise invalid_argument([FieldViolation(field, problem)])
    return normalize_request_id(request_id)


def repeat_of(original: T | None, same: Callable[[T], bool], request_id: str, resource: str) -> T | None:
    """`original` when this request repeats the one that created it (None when nothing was created with
    the request id yet); ALREADY_EXISTS when the request id was used for something else, whose content is
    not revealed (it may be another caller's)."""
    if original is None:
        return None
    if same(original):
        return original
    raise IntegrityError(
        f"request_id {request_id} was already used for a different {resource}; use a new request_id",
        "REQUEST_ID_REUSED",
        ErrorKind.ALREADY_EXISTS,
        {"request_id": request_id},
    )


def settled_after_conflict(attempt: Callable[[], T], resource: str) -> T:
    """Runs `attempt` (a create in its own unit of work), and once more when the database refused its write
    (StorageConflict: a unique constraint, i.e. a concurrent request got there first). The second attempt
    reads what the winner wrote, so a repeat is answered with the original and anything else is refused as
    it would be had it come second. A second conflict is ABORTED (CONCURRENT_CHANGE)."""
    try:
        return attempt()
    except StorageConflict:
        pass
    try:
        return attempt()
    except StorageConflict:
        raise concurrent_change(resource) from None
