"""Statutory deadlines over gRPC count PRC working days on the China date: publication of an inspection
result (the National Day example of issue 14) and the acceptance and resolution of a complaint, with the
operator's calendar file read by the running service."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from integrity.complaints.v1 import complaints_pb2 as C
from integrity.complaints.v1 import complaints_pb2_grpc
from integrity.inspections.v1 import inspections_pb2 as P
from integrity.inspections.v1 import inspections_pb2_grpc
from operations.catalogue import INSPECTIONS
from services.complaints.bootstrap import build_app as complaints_app
from services.inspections.adapters.unit_of_work import InspectionsUnitOfWork
from services.inspections.bootstrap import build_app as inspections_app
from services.inspections.entrypoints.consumer import handle_event
from shared.auth import Role, issue_token
from shared.db import make_engine
from shared.migrations import upgrade
from shared.settings import Settings
from shared.workdays import CHINA
from tests.helpers import enterprise_registered, serving, valid_uscc

pytestmark = pytest.mark.integration
DEAD_BROKER = "127.0.0.1:1"  # RPCs work while the broker is down; the outboxes keep the events


class Clock:
    """The services' clock, moved by the test."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _bearer(settings: Settings, role: Role, **claims: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {issue_token(settings, role, **claims)}"),)


def _settings(tmp_path: Path, **changes: object) -> Settings:
    return Settings(var_dir=tmp_path, kafka_bootstrap_servers=DEAD_BROKER, **changes)  # type: ignore[arg-type]


def test_an_inspection_completed_on_28_september_2026_publishes_on_13_october(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'inspections.db').as_posix()}"
    settings = _settings(tmp_path, inspections_database_url=url)
    engine = make_engine(url)
    upgrade(engine, INSPECTIONS)  # as `integrity db upgrade` makes it: the service checks the revision
    uscc = valid_uscc(928)
    with InspectionsUnitOfWork(engine) as uow:
        handle_event(uow, enterprise_registered(uscc), "integrity.enterprises.v1")
        uow.commit()
    engine.dispose()
    # 17:30 UTC on Sunday 27 September is 01:30 on Monday 28 September in China.
    clock = Clock(datetime(2026, 9, 27, 17, 30, tzinfo=UTC))
    regulator = _bearer(settings, Role.REGULATOR, region="610100")
    with serving(inspections_app(settings, clock=clock)) as channel:
        stub = inspections_pb2_grpc.InspectionServiceStub(channel)
        for badge in ("XA101", "XA102"):
            stub.CreateInspector(
                P.CreateInspectorRequest(
                    inspector_id=badge,
                    inspector=P.Inspector(
                        display_name=badge,
                        region_code="610100",
                        qualifications=[P.QUALIFICATION_FUEL_DISPENSERS],
                    ),
                ),
                metadata=regulator,
                timeout=10,
            )
        plan = stub.CreateInspectionPlan(
            P.CreateInspectionPlanRequest(
                inspection_plan=P.InspectionPlan(
                    region_code="610100", seed=7, sampling_ratios=[P.SamplingRatio(level=0, ratio=1.0)]
                ),
                request_id=str(uuid.uuid4()),
            ),
            metadata=regulator,
            timeout=10,
        ).inspection_plan
        [inspection] = stub.GetInspectionPlan(
            P.GetInspectionPlanRequest(name=plan.name), metadata=regulator, timeout=10
        ).inspections
        lead = _bearer(settings, Role.INSPECTOR, subject=inspection.inspectors[0], region="610100")
        done = stub.CompleteInspection(
            P.CompleteInspectionRequest(name=inspection.name, outcome=P.INSPECTION_OUTCOME_COMPLIANT),
            metadata=lead,
            timeout=10,
        ).inspection
        # Monday to Friday on the UTC date would have given 6 October, inside the holiday.
        assert done.publish_date == "2026-10-13"

        def published() -> list[str]:
            results = stub.ListPublishedResults(
                P.ListPublishedResultsRequest(region_code="610100"), timeout=10
            )
            return [r.enterprise for r in results.results]

        clock.now = datetime(2026, 10, 12, 23, 59, tzinfo=CHINA)
        assert published() == []
        clock.now = datetime(2026, 10, 13, 0, 0, tzinfo=CHINA)  # 16:00 UTC on the 12th
        assert published() == [f"enterprises/{uscc}"]


def _complaint(uscc: str) -> C.Complaint:
    return C.Complaint(
        enterprise=f"enterprises/{uscc}",
        category=C.COMPLAINT_CATEGORY_SHORT_WEIGHT_OR_MEASURE,
        channel=C.COMPLAINT_CHANNEL_PLATFORM_12315,
        description="加油机少加油",
    )


def _overdue(stub: complaints_pb2_grpc.ComplaintServiceStub, metadata: object) -> Callable[[], list[str]]:
    def names() -> list[str]:
        listed = stub.ListOverdueComplaints(C.ListOverdueComplaintsRequest(), metadata=metadata, timeout=10)
        return [c.name for c in listed.complaints]

    return names


def test_complaint_deadlines_count_working_days_and_the_operator_file(tmp_path: Path) -> None:
    calendar_file = tmp_path / "calendar.toml"
    # The operator declares 29 September 2026 a day off (say, a correction the State Council published).
    calendar_file.write_text("[2026]\nrest = [2026-09-29]\n", encoding="utf-8")
    settings = _settings(
        tmp_path,
        complaints_database_url=f"sqlite:///{(tmp_path / 'complaints.db').as_posix()}",
        calendar_file=calendar_file,
    )
    clock = Clock(datetime(2026, 9, 28, 10, 0, tzinfo=CHINA))
    regulator = _bearer(settings, Role.REGULATOR, region="610100")
    with serving(complaints_app(settings, clock=clock)) as channel:
        stub = complaints_pb2_grpc.ComplaintServiceStub(channel)
        overdue = _overdue(stub, regulator)
        filed = stub.CreateComplaint(
            C.CreateComplaintRequest(complaint=_complaint(valid_uscc(29, "610112"))), timeout=10
        ).complaint
        # 30 September, 8, 9, 10 (a working Saturday), 12, 13, 14 October: due at the end of the 14th
        # (without the operator's day off it would have been the 13th).
        accept_by = datetime(2026, 10, 15, tzinfo=CHINA)
        assert filed.due_time.ToDatetime(tzinfo=UTC) == accept_by
        clock.now = accept_by - timedelta(seconds=1)
        assert overdue() == []
        clock.now = accept_by
        assert overdue() == [filed.name]

        # Accepted at 23:00 on Friday 16 October: 45 working days from the 16th end with 18 December.
        clock.now = datetime(2026, 10, 16, 23, 0, tzinfo=CHINA)
        accepted = stub.AcceptComplaint(
            C.AcceptComplaintRequest(name=filed.name), metadata=regulator, timeout=10
        ).complaint
        resolve_by = datetime(2026, 12, 19, tzinfo=CHINA)
        assert accepted.due_time.ToDatetime(tzinfo=UTC) == resolve_by
        clock.now = resolve_by - timedelta(seconds=1)
        assert overdue() == []
        clock.now = resolve_by
        assert overdue() == [filed.name]
