"""Test data for scoring's unit tests: valid USCCs and source events (registrations, inspections,
complaints)."""

from __future__ import annotations

import uuid
from datetime import datetime

from integrity.complaints.v1 import complaints_pb2
from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2
from shared.events import Event, new_event
from shared.uscc import with_check_character


def uscc(serial: int, region: str = "610112") -> str:
    """A valid USCC registered in `region`, distinct per serial."""
    return with_check_character(f"91{region}MA{serial:07d}")


def registration(
    code: str,
    *,
    region: str = "610112",
    industry: str = "F5265",
    name: str = "西安市某某加油站有限公司",
    occurred_at: datetime | None = None,
    subject: str | None = None,
) -> Event:
    enterprise = enterprises_pb2.Enterprise(
        name=f"enterprises/{code}",
        uscc=code,
        display_name=name,
        region_code=region,
        industry_code=industry,
        subject_type=enterprises_pb2.SubjectType.SUBJECT_TYPE_TRADE_INSTRUMENT_USER,
        registered_date="2020-05-01",
    )
    payload = events_pb2.EnterpriseRegistered(enterprise=enterprise)
    return new_event("//integrity/enterprises", subject or code, payload, occurred_at=occurred_at)


ENTERPRISES_SOURCE = "//integrity/enterprises"
COMPLAINTS_SOURCE = "//integrity/complaints"
INSPECTIONS_SOURCE = "//integrity/inspections"
Outcome = inspections_pb2.InspectionOutcome


def inspection(
    code: str,
    at: datetime,
    outcome: int = Outcome.INSPECTION_OUTCOME_COMPLIANT,
    name: str | None = None,
    **summary: object,
) -> Event:
    payload = events_pb2.InspectionCompleted(
        inspection=name or f"inspections/{uuid.uuid4()}",
        outcome=outcome,  # type: ignore[arg-type]
        summary=events_pb2.InspectionFindingSummary(**summary),  # type: ignore[arg-type]
    )
    return new_event(INSPECTIONS_SOURCE, code, payload, occurred_at=at)


def complaint_filed(code: str, at: datetime, name: str | None = None) -> Event:
    payload = events_pb2.ComplaintFiled(
        complaint=name or f"complaints/{uuid.uuid4()}",
        category=complaints_pb2.COMPLAINT_CATEGORY_SHORT_WEIGHT_OR_MEASURE,
        channel=complaints_pb2.COMPLAINT_CHANNEL_PLATFORM_12315,
        anonymous=True,
        region_code=code[2:8],
    )
    return new_event(COMPLAINTS_SOURCE, code, payload, occurred_at=at)


def complaint_resolved(code: str, at: datetime, name: str, substantiated: bool) -> Event:
    payload = events_pb2.ComplaintResolved(
        complaint=name,
        category=complaints_pb2.COMPLAINT_CATEGORY_SHORT_WEIGHT_OR_MEASURE,
        substantiated=substantiated,
    )
    return new_event(COMPLAINTS_SOURCE, code, payload, occurred_at=at)
