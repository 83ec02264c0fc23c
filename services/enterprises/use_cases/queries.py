"""What a List request asks for: the AIP-160 filter of ListEnterprises, AIP-158 page sizes and page tokens."""

from __future__ import annotations

from integrity.enterprises.v1 import enterprises_pb2
from services.enterprises.domain.enterprise import EnterpriseQuery
from services.enterprises.domain.instruments import INSTRUMENT_ID
from shared import pagination
from shared.filtering import enum_value, filter_error, parse_conjunction
from shared.industries import industry_problem, normalize_industry
from shared.regions import region_problem
from shared.uscc import uscc_problem

# --- page size and token --------------------------------------------------------------------------


page_size_of = pagination.page_size


def encode_page_token(last_uscc: str, query: EnterpriseQuery) -> str:
    return pagination.encode_page_token(last_uscc, query.fingerprint())


def decode_page_token(token: str, query: EnterpriseQuery) -> str | None:
    """The USCC to continue after, or None for the first page; INVALID_ARGUMENT on `page_token`."""
    after = pagination.decode_page_token(token, query.fingerprint())
    if after is not None and (not isinstance(after, str) or uscc_problem(after)):
        raise pagination.invalid_page_token()
    return after


def encode_instrument_page_token(uscc: str, last_id: str) -> str:
    """ListInstruments' page token, bound to the enterprise it was issued for."""
    return pagination.encode_page_token(last_id, pagination.fingerprint(f"instruments of {uscc}"))


def decode_instrument_page_token(token: str, uscc: str) -> str | None:
    """The instrument id to continue after, or None for the first page; INVALID_ARGUMENT on `page_token`."""
    after = pagination.decode_page_token(token, pagination.fingerprint(f"instruments of {uscc}"))
    if after is not None and not INSTRUMENT_ID.fullmatch(str(after)):
        raise pagination.invalid_page_token()
    return after


# --- AIP-160 filter -------------------------------------------------------------------------------

FILTER_FIELDS = ("region_code", "industry_code", "subject_type", "status")
_ENUMS = {
    "subject_type": (enterprises_pb2.SubjectType, "SUBJECT_TYPE_"),
    "status": (enterprises_pb2.EnterpriseStatus, "ENTERPRISE_STATUS_"),
}


def _term_value(field: str, value: str) -> str | int:
    if field in _ENUMS:
        return enum_value(field, value, *_ENUMS[field])
    if field == "region_code":
        if (problem := region_problem(value)) is not None:
            raise filter_error(f"region_code: {problem}")
        return value
    if (problem := industry_problem(value)) is not None:
        raise filter_error(f"industry_code: {problem}")
    return normalize_industry(value)


def parse_filter(text: str) -> EnterpriseQuery:
    """Parses `field = value [AND field = value ...]`; INVALID_ARGUMENT on `filter` naming the problem."""
    terms = parse_conjunction(text, FILTER_FIELDS)
    values = {field: _term_value(field, value) for field, value in terms.items()}
    return EnterpriseQuery(**values)  # type: ignore[arg-type]
