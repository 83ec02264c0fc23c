"""What a List request asks for: AIP-158 page size and opaque page tokens carrying the last id and the
query they were issued for. Pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from shared import pagination

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str


page_size_of = pagination.page_size


def encode_page_token(last_id: str, query: str) -> str:
    return pagination.encode_page_token(last_id, pagination.fingerprint(query))


def decode_page_token(token: str, query: str) -> str | None:
    """The id to continue after, or None for the first page; INVALID_ARGUMENT on `page_token`."""
    after = pagination.decode_page_token(token, pagination.fingerprint(query))
    if after is not None and not isinstance(after, str):
        raise pagination.invalid_page_token()
    return after


def page_of(found: list[T], limit: int, query: str, id_of: Callable[[T], str]) -> Page[T]:
    """The first `limit` of `found` (up to limit + 1 looked up), with a token when there are more."""
    token = encode_page_token(id_of(found[limit - 1]), query) if len(found) > limit else ""
    return Page(found[:limit], token)
