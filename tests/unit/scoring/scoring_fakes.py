"""Test data for scoring's unit tests: valid USCCs and EnterpriseRegistered events."""

from __future__ import annotations

from datetime import datetime

from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
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
