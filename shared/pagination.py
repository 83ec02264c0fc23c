"""AIP-158 pagination shared by every List method: page sizes and opaque page tokens.

A token carries the cursor (where the next page starts) and a fingerprint of the query it was issued
for, so a token reused with another filter is refused instead of silently skipping or repeating rows.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from shared.errors import FieldViolation, IntegrityError, invalid_argument

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


def page_size(requested: int) -> int:
    """0 means the default; larger than the maximum is capped; negative is refused."""
    if requested < 0:
        raise invalid_argument([FieldViolation("page_size", f"must not be negative, got {requested}")])
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def fingerprint(canonical_query: str) -> str:
    """A short digest of a query's canonical text, bound into its page tokens."""
    return hashlib.sha256(canonical_query.encode()).hexdigest()[:16]


def encode_page_token(cursor: Any, query_fingerprint: str) -> str:
    """`cursor` is any JSON value, e.g. the last id of the page."""
    payload = json.dumps({"after": cursor, "filter": query_fingerprint}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def invalid_page_token() -> IntegrityError:
    return invalid_argument(
        [FieldViolation("page_token", "is not a token this service issued; pass next_page_token unchanged")]
    )


def decode_page_token(token: str, query_fingerprint: str) -> Any:
    """The cursor in `token` (None for an empty token, the first page); INVALID_ARGUMENT on `page_token`
    when it is not one of ours or was issued for a different query. Callers check the cursor's shape."""
    if not token:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise invalid_page_token() from None
    if not isinstance(data, dict) or "after" not in data or data["after"] is None:
        raise invalid_page_token()
    if data.get("filter") != query_fingerprint:
        raise invalid_argument(
            [
                FieldViolation(
                    "page_token",
                    "was issued for a different filter; repeat the filter of the first page or start over",
                )
            ]
        )
    return data["after"]
