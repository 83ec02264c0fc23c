"""What a List request asks for: the AIP-160 filter, page size and AIP-158 page token. Pure Python.

Risk lists (ListRiskEntries) below; the decision lists (appeals, credit repair applications, listings on
the serious-dishonesty list) at the end.

Filter grammar: `field = value` terms joined by `AND`, each field at most once, on
`region_code` (a GB/T 2260 division; its children are included), `industry_code` (a GB/T 4754
section, division, group or class, with or without its letter; the finer codes under it are
included), `level` (`GRADE_LEVEL_A` ... `GRADE_LEVEL_D`) and `subject_type` (a
`integrity.enterprises.v1.SubjectType` name, e.g. `SUBJECT_TYPE_UTILITY`) and `provisional` (`true` or
`false`). Values may be quoted; e.g.
`region_code = "610100" AND level = GRADE_LEVEL_D`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NoReturn, TypeVar

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from integrity.enterprises.v1 import enterprises_pb2
from integrity.scoring.v1 import scoring_pb2
from services.scoring.domain.decisions import DecisionCursor, DecisionQuery
from services.scoring.domain.grades import GradeLevel
from services.scoring.domain.risk_list import LEVEL_PREFIX, RiskCursor, RiskFilter
from shared import pagination
from shared.filtering import enum_value, filter_error, parse_conjunction
from shared.industries import industry_problem, normalize_industry
from shared.regions import region_problem

T = TypeVar("T")

FILTER_FIELDS = ("region_code", "industry_code", "level", "subject_type", "provisional")

page_size_of = pagination.page_size


def parse_filter(text: str) -> RiskFilter:
    """Parses the filter; raises INVALID_ARGUMENT on `filter` saying what is wrong and where."""
    values = parse_conjunction(text, FILTER_FIELDS)
    return RiskFilter(
        region_code=_region(values["region_code"]) if "region_code" in values else None,
        industry_code=_industry(values["industry_code"]) if "industry_code" in values else None,
        level=_level(values["level"]) if "level" in values else None,
        subject_type=_subject_type(values["subject_type"]) if "subject_type" in values else None,
        provisional=_boolean("provisional", values["provisional"]) if "provisional" in values else None,
    )


def encode_page_token(cursor: RiskCursor, risk_filter: RiskFilter) -> str:
    return pagination.encode_page_token(
        [cursor.level, cursor.violation_probability, cursor.uscc], _fingerprint(risk_filter)
    )


def decode_page_token(token: str, risk_filter: RiskFilter) -> RiskCursor:
    """The cursor in `token`; INVALID_ARGUMENT when it is not ours or was issued for another filter."""
    after = pagination.decode_page_token(token, _fingerprint(risk_filter))
    try:
        level, probability, uscc = after
        return RiskCursor(int(level), float(probability), str(uscc))
    except (TypeError, ValueError):
        raise pagination.invalid_page_token() from None


def _fingerprint(risk_filter: RiskFilter) -> str:
    return pagination.fingerprint(risk_filter.canonical())


def _region(value: str) -> str:
    problem = region_problem(value)
    if problem:
        _bad_filter(f"region_code {value!r} {problem}")
    return value


def _industry(value: str) -> str:
    problem = industry_problem(value)
    if problem:
        _bad_filter(f"industry_code {value!r} {problem}")
    return normalize_industry(value)


def _level(value: str) -> GradeLevel:
    letter = value.removeprefix(LEVEL_PREFIX) if value.startswith(LEVEL_PREFIX) else ""
    if letter not in GradeLevel.__members__:
        names = ", ".join(LEVEL_PREFIX + level.name for level in GradeLevel)
        _bad_filter(f"level {value!r} must be one of {names}")
    return GradeLevel[letter]


def _subject_type(value: str) -> str:
    names = [v.name for v in enterprises_pb2.SubjectType.DESCRIPTOR.values if v.number]
    if value not in names:
        _bad_filter(f"subject_type {value!r} must be one of {', '.join(names)}")
    return value


def _boolean(field: str, value: str) -> bool:
    if value not in ("true", "false"):
        _bad_filter(f"{field} {value!r} must be true or false")
    return value == "true"


def _bad_filter(description: str) -> NoReturn:
    raise filter_error(description)


# --- decision lists: `state`, `region_code`, `override_active` / `active` -----------------------------

# Per list: its filterable fields, and the enum (with its prefix) that names its states.
DECISION_LISTS: dict[str, tuple[tuple[str, ...], tuple[EnumTypeWrapper, str] | None]] = {
    "appeals": (("state", "region_code", "override_active"), (scoring_pb2.AppealState, "APPEAL_STATE_")),
    "credit repair applications": (
        ("state", "region_code"),
        (scoring_pb2.CreditRepairApplicationState, "CREDIT_REPAIR_APPLICATION_STATE_"),
    ),
    "dishonesty listings": (("active", "region_code"), None),
}


def parse_decision_filter(text: str, what: str, uscc: str | None) -> DecisionQuery:
    """The query of a decision list `what` (a key of DECISION_LISTS) of enterprise `uscc` (None: any);
    INVALID_ARGUMENT on `filter` saying what is wrong and where."""
    fields, states = DECISION_LISTS[what]
    values = parse_conjunction(text, fields)
    state = None
    if "state" in values and states is not None:
        enum, prefix = states
        state = enum.Name(enum_value("state", values["state"], enum, prefix)).removeprefix(prefix)
    active_field = "override_active" if "override_active" in fields else "active"
    return DecisionQuery(
        uscc=uscc,
        region_code=_region(values["region_code"]) if "region_code" in values else None,
        state=state,
        active=_boolean(active_field, values[active_field]) if active_field in values else None,
    )


def encode_decision_token(cursor: DecisionCursor, query: DecisionQuery, what: str) -> str:
    return pagination.encode_page_token(
        [cursor.time.isoformat(), cursor.id], _decision_fingerprint(query, what)
    )


def decode_decision_token(token: str, query: DecisionQuery, what: str) -> DecisionCursor | None:
    """The cursor in `token` (None for the first page); INVALID_ARGUMENT when it is not ours or was issued
    for another parent or filter."""
    after = pagination.decode_page_token(token, _decision_fingerprint(query, what))
    if after is None:
        return None
    try:
        time, record_id = after
        return DecisionCursor(datetime.fromisoformat(time), str(record_id))
    except (TypeError, ValueError):
        raise pagination.invalid_page_token() from None


def next_decision_token(
    found: Sequence[T], size: int, query: DecisionQuery, what: str, cursor_of: Callable[[T], DecisionCursor]
) -> str:
    """The token of the page after the first `size` of `found` (up to size + 1 looked up); empty when
    there is none."""
    if len(found) <= size:
        return ""
    return encode_decision_token(cursor_of(found[size - 1]), query, what)


def _decision_fingerprint(query: DecisionQuery, what: str) -> str:
    return pagination.fingerprint(f"{what}:{query.canonical()}")


def _boolean(field: str, value: str) -> bool:
    if value not in ("true", "false"):
        _bad_filter(f"{field} must be true or false, got {value!r}")
    return value == "true"
