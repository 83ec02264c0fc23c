"""Complaints are matched to registered enterprises through the real broker, from the complaints service's
own copy of the enterprises topic, and regulators handle them by the enterprise's registered region: the
README's example, a USCC issued in Fuzhou (350100) registered in Xi'an's Weiyang district (610112)."""

from __future__ import annotations

import uuid
from pathlib import Path

import grpc
import pytest
from google.protobuf import field_mask_pb2
from sqlmodel import Session, select

from integrity.complaints.v1 import complaints_pb2 as C
from integrity.complaints.v1 import complaints_pb2_grpc
from integrity.enterprises.v1 import enterprises_pb2 as E
from integrity.enterprises.v1 import enterprises_pb2_grpc
from operations.broker import LocalBroker
from services.complaints.bootstrap import build_app as build_complaints
from services.enterprises.bootstrap import build_app as build_enterprises
from shared.auth import Role, issue_token
from shared.db import make_engine
from shared.events import decode
from shared.grpc_server import RunningService, start
from shared.outbox import OutboxRecord
from shared.settings import Settings
from tests.helpers import valid_uscc, wait_until

pytestmark = pytest.mark.integration
Metadata = list[tuple[str, str]]


def _auth(settings: Settings, role: Role, **claims: str) -> Metadata:
    return [("authorization", f"Bearer {issue_token(settings, role, **claims)}")]


def _complaint(uscc: str) -> C.CreateComplaintRequest:
    return C.CreateComplaintRequest(
        complaint=C.Complaint(
            enterprise=f"enterprises/{uscc}",
            category=C.COMPLAINT_CATEGORY_SHORT_WEIGHT_OR_MEASURE,
            channel=C.COMPLAINT_CHANNEL_PLATFORM_12315,
            description="加油机显示20升，实际不足18升。",
        ),
        request_id=str(uuid.uuid4()),
    )


def test_a_complaint_is_matched_when_the_enterprise_registers_and_handled_where_it_is_registered(
    tmp_path: Path, broker: LocalBroker
) -> None:
    settings = Settings(
        var_dir=tmp_path,
        kafka_bootstrap_servers=broker.bootstrap,
        enterprises_database_url=f"sqlite:///{tmp_path / 'enterprises.db'}",
        complaints_database_url=f"sqlite:///{tmp_path / 'complaints.db'}",
        relay_poll_seconds=0.1,
    )
    system = _auth(settings, Role.SYSTEM, subject="12315")
    xian = _auth(settings, Role.REGULATOR, region="610100")
    fuzhou = _auth(settings, Role.REGULATOR, region="350100")
    uscc = valid_uscc(350112, region="350100")  # issued in Fuzhou
    running: list[RunningService] = []
    try:
        running = [start(build_enterprises(settings), 0), start(build_complaints(settings), 0)]
        with (
            grpc.insecure_channel(running[0].address) as e_channel,
            grpc.insecure_channel(running[1].address) as c_channel,
        ):
            registry = enterprises_pb2_grpc.EnterpriseServiceStub(e_channel)
            complaints = complaints_pb2_grpc.ComplaintServiceStub(c_channel)

            def get(metadata: Metadata, name: str) -> C.Complaint | grpc.StatusCode:
                try:
                    request = C.GetComplaintRequest(name=name)
                    return complaints.GetComplaint(request, metadata=metadata, timeout=10).complaint
                except grpc.RpcError as error:
                    return error.code()  # type: ignore[attr-defined,no-any-return]

            # Before the registry knows it: UNMATCHED, handled where the USCC was issued.
            early = complaints.CreateComplaint(_complaint(uscc), metadata=system, timeout=10).complaint
            assert early.match_status == C.ENTERPRISE_MATCH_STATUS_UNMATCHED
            assert early.region_code == "350100"
            assert get(xian, early.name) == grpc.StatusCode.PERMISSION_DENIED

            registry.CreateEnterprise(
                E.CreateEnterpriseRequest(
                    enterprise=E.Enterprise(
                        uscc=uscc,
                        display_name="西安市未央区诚信加油站",
                        region_code="610112",
                        industry_code="F5265",
                        subject_type=E.SUBJECT_TYPE_TRADE_INSTRUMENT_USER,
                    ),
                    request_id=str(uuid.uuid4()),
                ),
                metadata=system,
                timeout=10,
            )

            def matched() -> C.Complaint | None:
                found = get(xian, early.name)
                return found if isinstance(found, C.Complaint) else None

            now_matched = wait_until(matched, timeout=90, interval=0.2, message="complaint never matched")
            assert now_matched.match_status == C.ENTERPRISE_MATCH_STATUS_MATCHED
            assert now_matched.region_code == "610112" and now_matched.etag != early.etag
            assert get(fuzhou, early.name) == grpc.StatusCode.PERMISSION_DENIED
            accepted = complaints.AcceptComplaint(
                C.AcceptComplaintRequest(name=early.name, etag=now_matched.etag), metadata=xian, timeout=10
            ).complaint
            assert accepted.state == C.COMPLAINT_STATE_ACCEPTED

            # Now the registry knows it: MATCHED at intake, in the registered region.
            later = complaints.CreateComplaint(_complaint(uscc), metadata=system, timeout=10).complaint
            assert later.match_status == C.ENTERPRISE_MATCH_STATUS_MATCHED and later.region_code == "610112"
            listed = complaints.ListComplaints(
                C.ListComplaintsRequest(filter='region_code = "610112"'), metadata=xian, timeout=10
            )
            assert {c.name for c in listed.complaints} >= {early.name, later.name}

            # The registry moves it to Yanta district (610113): its complaints follow.
            current = registry.GetEnterprise(
                E.GetEnterpriseRequest(name=f"enterprises/{uscc}"), metadata=system, timeout=10
            ).enterprise
            current.region_code = "610113"
            registry.UpdateEnterprise(
                E.UpdateEnterpriseRequest(
                    enterprise=current, update_mask=field_mask_pb2.FieldMask(paths=["region_code"])
                ),
                metadata=system,
                timeout=10,
            )

            def moved() -> bool:
                found = get(xian, later.name)
                return isinstance(found, C.Complaint) and found.region_code == "610113"

            wait_until(moved, timeout=60, interval=0.2, message="complaints did not follow the enterprise")
            county = _auth(settings, Role.REGULATOR, region="610113")
            assert isinstance(get(county, early.name), C.Complaint)
    finally:
        for service in running:
            service.stop(0)

    # One ComplaintMatched, for the complaint that waited; the later one says it was matched at intake.
    engine = make_engine(settings.database_url("complaints"))
    try:
        with Session(engine) as session:
            events = [decode(row.value) for row in session.exec(select(OutboxRecord))]
    finally:
        engine.dispose()
    kinds = [(e.WhichOneof("payload"), e.subject) for e in events]
    assert kinds.count(("complaint_matched", uscc)) == 1
    [matched_event] = [e.complaint_matched for e in events if e.WhichOneof("payload") == "complaint_matched"]
    assert matched_event.complaint == early.name and matched_event.region_code == "610112"
    filed = [e.complaint_filed for e in events if e.WhichOneof("payload") == "complaint_filed"]
    assert [(f.complaint, f.matched, f.region_code) for f in filed] == [
        (early.name, False, "350100"),
        (later.name, True, "610112"),
    ]


def test_matching_on_each_database_is_idempotent_and_keeps_what_regulators_decided(
    database_url: str,
) -> None:
    from datetime import UTC, datetime, timedelta
    from functools import partial

    from services.complaints.adapters.tables import TABLES
    from services.complaints.adapters.unit_of_work import ComplaintsUnitOfWork
    from services.complaints.domain.deadlines import Rules
    from services.complaints.domain.intake import ComplaintDraft
    from services.complaints.use_cases.filing import create_complaint
    from services.complaints.use_cases.matching import record_registration
    from services.complaints.use_cases.workflow import accept_complaint
    from shared.auth import Principal
    from shared.db import create_tables

    engine = make_engine(database_url)
    create_tables(engine, TABLES)
    uow = partial(ComplaintsUnitOfWork, engine)
    platform = Principal("12315", Role.SYSTEM)
    uscc = valid_uscc(4242, region="350100")
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    draft = ComplaintDraft(f"enterprises/{uscc}", C.COMPLAINT_CATEGORY_CHEATING_INSTRUMENT, 1, "作弊秤")
    first = create_complaint(uow(), draft, None, "", platform, Rules(), now=now).complaint
    # Handled where the USCC was issued until the registry speaks: Fuzhou accepts it.
    fuzhou = Principal("fuzhou", Role.REGULATOR, region="350100")
    accepted = accept_complaint(uow(), first.name, "", fuzhou, now=now + timedelta(hours=1))

    def register(region: str) -> list[str]:
        with uow() as consumer_uow:
            done = record_registration(consumer_uow, uscc, region, now + timedelta(days=1))
            consumer_uow.commit()
        return [c.name for c in done]

    assert register("610112") == [first.name]
    assert register("610112") == []  # a replayed registration matches nothing twice
    with uow() as reading:
        stored = reading.complaints.get(first.id)
        assert stored is not None
        assert (stored.match_status, stored.region_code, stored.state) == (
            C.ENTERPRISE_MATCH_STATUS_MATCHED,
            "610112",
            C.COMPLAINT_STATE_ACCEPTED,
        )
        assert stored.etag != accepted.etag
    second = create_complaint(uow(), draft, None, "", platform, Rules(), now=now + timedelta(days=2))
    assert second.complaint.region_code == "610112"
    assert register("610113") == []
    with uow() as reading:
        assert {c.region_code for c in reading.complaints.list_overdue("610100", now, now, None, 10)} <= {
            "610113"
        }
        assert reading.complaints.get(second.complaint.id).region_code == "610113"  # type: ignore[union-attr]
    engine.dispose()
