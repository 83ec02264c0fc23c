"""What a List request asks for: AIP-158 page size and opaque page tokens carrying the last id and the
query they were issued for, and the AIP-160 filters of ListInspections and ListPublishedResults. Pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from integrity.inspections.v1 import inspections_pb2
from services.inspections.domain.inspectors import inspector_id_of
from services.inspections.domain.names import INSPECTOR_PREFIX, PLAN_PREFIX, parse_name
from services.inspections.domain.worklist import InspectionQuery
from shared import pagination
from shared.errors import IntegrityError
from shared.filtering import enum_value, filter_error, parse_conjunction
from shared.regions import region_problem
from shared.uscc import uscc_problem

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


# --- AIP-160 filters ------------------------------------------------------------------------------

INSPECTION_FILTER_FIELDS = ("plan", "inspector", "state", "region_code", "enterprise")
_ENTERPRISE_PREFIX = "enterprises/"


def parse_inspection_filter(text: str) -> InspectionQuery:
    """The ListInspections filter; INVALID_ARGUMENT on `filter` naming what is wrong."""
    values = parse_conjunction(text, INSPECTION_FILTER_FIELDS)
    state = None
    if "state" in values:
        state = enum_value("state", values["state"], inspections_pb2.InspectionState, "INSPECTION_STATE_")
    return InspectionQuery(
        plan_id=plan_id_of_filter(values["plan"]) if "plan" in values else None,
        inspector_id=_inspector(values["inspector"]) if "inspector" in values else None,
        state=state,
        region_code=_region(values["region_code"]) if "region_code" in values else None,
        uscc=_enterprise(values["enterprise"]) if "enterprise" in values else None,
    )


def parse_published_filter(text: str) -> str | None:
    """The plan id of a ListPublishedResults filter (`plan = "inspectionPlans/{id}"`), None without one."""
    values = parse_conjunction(text, ("plan",))
    return plan_id_of_filter(values["plan"]) if "plan" in values else None


def plan_id_of_filter(value: str) -> str:
    try:
        return parse_name(value, PLAN_PREFIX, "filter")
    except IntegrityError:
        raise filter_error(f"plan must be {PLAN_PREFIX}{{id}}, got {value[:60]!r}") from None


def _inspector(value: str) -> str:
    inspector_id = inspector_id_of(value)
    if inspector_id is None:
        raise filter_error(f"inspector must be {INSPECTOR_PREFIX}{{id}}, got {value[:60]!r}")
    return inspector_id


def _region(value: str) -> str:
    if (problem := region_problem(value)) is not None:
        raise filter_error(f"region_code {value!r} {problem}")
    return value


def _enterprise(value: str) -> str:
    uscc = value.removeprefix(_ENTERPRISE_PREFIX)
    if not value.startswith(_ENTERPRISE_PREFIX):
        raise filter_error(f"enterprise must be enterprises/{{uscc}}, got {value[:60]!r}")
    if (problem := uscc_problem(uscc)) is not None:
        raise filter_error(f"enterprise: USCC {uscc!r} {problem}")
    return uscc
