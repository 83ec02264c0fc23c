"""ListComplaints request parsing: AIP-160 filter, AIP-158 page size and opaque page tokens. Pure."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace

from integrity.complaints.v1 import complaints_pb2
from services.complaints.domain.complaint import ENTERPRISE_PREFIX, enterprise_problem
from shared import pagination
from shared.filtering import enum_value, filter_error, parse_conjunction
from shared.regions import region_problem

_ID = re.compile(r"[0-9a-f]{24}")


@dataclass(frozen=True)
class ComplaintQuery:
    """Which complaints to list; None means any. `region_code` includes the region's children."""

    uscc: str | None = None
    region_code: str | None = None
    state: int | None = None
    category: int | None = None
    duplicate: bool | None = None
    # Set by authorization, never by the filter: a system caller sees what it filed, an enterprise
    # only decided complaints against itself.
    filer_subject: str | None = None
    states: frozenset[int] | None = None

    def fingerprint(self) -> str:
        """A short digest of the filter, so a page token cannot be reused with another filter."""
        fields = [self.uscc, self.region_code, self.state, self.category, self.duplicate]
        return pagination.fingerprint(json.dumps(fields))

    def scoped(self, **changes: object) -> ComplaintQuery:
        return replace(self, **changes)  # type: ignore[arg-type]


page_size_of = pagination.page_size


def encode_page_token(last_id: str, fingerprint: str) -> str:
    return pagination.encode_page_token(last_id, fingerprint)


def decode_page_token(token: str, fingerprint: str) -> str | None:
    """The complaint id to continue after, or None for the first page; INVALID_ARGUMENT on `page_token`."""
    after = pagination.decode_page_token(token, fingerprint)
    if after is not None and (not isinstance(after, str) or not _ID.fullmatch(after)):
        raise pagination.invalid_page_token()
    return after


# --- AIP-160 filter: `field = value [AND field = value ...]` --------------------------------------

FILTER_FIELDS = ("enterprise", "region_code", "state", "category", "duplicate")
_ENUMS = {
    "state": (complaints_pb2.ComplaintState, "COMPLAINT_STATE_"),
    "category": (complaints_pb2.ComplaintCategory, "COMPLAINT_CATEGORY_"),
}


def _value(field: str, text: str) -> object:
    if field == "enterprise":
        if (problem := enterprise_problem(text)) is not None:
            raise filter_error(f"enterprise: {problem}")
        return text[len(ENTERPRISE_PREFIX) :]
    if field == "region_code":
        if (problem := region_problem(text)) is not None:
            raise filter_error(f"region_code: {problem}")
        return text
    if field == "duplicate":
        if text not in ("true", "false"):
            raise filter_error(f"duplicate: must be true or false, got {text!r}")
        return text == "true"
    return enum_value(field, text, *_ENUMS[field])


def parse_filter(text: str) -> ComplaintQuery:
    """Parses the filter; INVALID_ARGUMENT on `filter` naming the problem."""
    terms = parse_conjunction(text, FILTER_FIELDS)
    values = {field: _value(field, value) for field, value in terms.items()}
    uscc = values.pop("enterprise", None)
    return ComplaintQuery(uscc=uscc, **values)  # type: ignore[arg-type]
