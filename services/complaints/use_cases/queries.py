"""What a ListComplaints request asks for: AIP-160 filter, AIP-158 page size and opaque page tokens. Pure."""

from __future__ import annotations

import json

from integrity.complaints.v1 import complaints_pb2
from services.complaints.domain.complaint import ComplaintQuery, is_complaint_id
from services.complaints.domain.intake import ENTERPRISE_PREFIX, enterprise_problem
from shared import pagination
from shared.filtering import enum_value, filter_error, parse_conjunction
from shared.regions import region_problem


def fingerprint(query: ComplaintQuery) -> str:
    """A short digest of the filter, so a page token cannot be reused with another filter."""
    fields = [query.uscc, query.region_code, query.state, query.category, query.duplicate]
    return pagination.fingerprint(json.dumps(fields))


page_size_of = pagination.page_size


def encode_page_token(last_id: str, fingerprint: str) -> str:
    return pagination.encode_page_token(last_id, fingerprint)


def decode_page_token(token: str, fingerprint: str) -> str | None:
    """The complaint id to continue after, or None for the first page; INVALID_ARGUMENT on `page_token`."""
    after = pagination.decode_page_token(token, fingerprint)
    if after is not None and (not isinstance(after, str) or not is_complaint_id(after)):
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
