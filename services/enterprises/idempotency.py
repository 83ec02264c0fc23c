"""AIP-155 request ids for the creates of the enterprises service. Pure."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from services.enterprises.domain import normalize_request_id, request_id_problem
from shared.errors import ErrorKind, FieldViolation, IntegrityError, invalid_argument

T = TypeVar("T")


def request_key(request_id: str) -> str | None:
    """The stored form of a valid request id (None when absent); INVALID_ARGUMENT on `request_id`."""
    if (problem := request_id_problem(request_id)) is not None:
        raise invalid_argument([FieldViolation("request_id", problem)])
    return normalize_request_id(request_id)


def repeat_of(original: T | None, same: Callable[[T], bool], request_id: str, resource: str) -> T | None:
    """`original` when this request repeats the one that created it; ALREADY_EXISTS when the request id
    was used for something else (another enterprise's, too: nothing of it is returned)."""
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
