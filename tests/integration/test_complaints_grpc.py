"""The complaints service over a real socket: real server, real database, the generated stub.

Kafka is a dead port on purpose: RPCs must succeed while the broker is down (the relay just retries).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from integrity.complaints.v1 import complaints_pb2 as P
from integrity.complaints.v1 import complaints_pb2_grpc
from services.complaints.adapters.tables import ComplainantRow, ComplaintRow
from services.complaints.bootstrap import build_app
from shared.auth import issue_token
from shared.db import make_engine
from shared.logs import JsonFormatter
from shared.outbox import OutboxRecord
from shared.settings import Settings
from tests.helpers import serving, valid_uscc

pytestmark = pytest.mark.integration

DEAD_BROKER = "127.0.0.1:1"
USCC = valid_uscc(1, "610112")
OTHER_REGION_USCC = valid_uscc(2, "610300")
Metadata = tuple[tuple[str, str], ...]


def complaint(uscc: str = USCC, **changes: object) -> P.Complaint:
    fields: dict[str, object] = {
        "enterprise": f"enterprises/{uscc}",
        "category": P.COMPLAINT_CATEGORY_SHORT_WEIGHT_OR_MEASURE,
        "channel": P.COMPLAINT_CHANNEL_PLATFORM_12315,
        "description": "买了一斤苹果，回家称只有八两。",
        "location": "西安市雁塔区某某市场",
        "evidence_uris": ["https://evidence.example/photo/1.jpg"],
    }
    fields.update(changes)
    return P.Complaint(**fields)  # type: ignore[arg-type]


@dataclass
class Desk:
    stub: complaints_pb2_grpc.ComplaintServiceStub
    settings: Settings
    engine: Engine

    def auth(self, role: str, **claims: str) -> Metadata:
        return (("authorization", f"Bearer {issue_token(self.settings, role, **claims)}"),)

    @property
    def regulator(self) -> Metadata:
        return self.auth("regulator", region="610100")

    def file(
        self, message: P.Complaint | None = None, metadata: Metadata = (), **request: object
    ) -> P.CreateComplaintResponse:
        create = P.CreateComplaintRequest(complaint=message or complaint(), **request)  # type: ignore[arg-type]
        return self.stub.CreateComplaint(create, metadata=metadata, timeout=10)

    def count(self, table: type) -> int:
        with Session(self.engine) as session:
            return int(session.exec(select(func.count()).select_from(table)).one())

    def event_types(self) -> list[str]:
        with Session(self.engine) as session:
            rows = session.exec(select(OutboxRecord).order_by(OutboxRecord.id)).all()  # type: ignore[arg-type]
            return [row.event_type.rsplit(".", 1)[-1] for row in rows]


@pytest.fixture
def desk(database_url: str, tmp_path: Path) -> Iterator[Desk]:
    settings = Settings(
        var_dir=tmp_path / "var",
        complaints_database_url=database_url,
        kafka_bootstrap_servers=DEAD_BROKER,
        relay_poll_seconds=0.05,
        relay_max_backoff_seconds=0.5,
    )
    engine = make_engine(database_url)
    try:
        with serving(build_app(settings)) as channel:
            yield Desk(complaints_pb2_grpc.ComplaintServiceStub(channel), settings, engine)
    finally:
        engine.dispose()


def failure(call: grpc.Call) -> tuple[grpc.StatusCode, set[str], dict[str, str]]:
    """The status code, the fields of any BadRequest violations, and the ErrorInfo metadata."""
    status = rpc_status.from_call(call)
    fields: set[str] = set()
    info: dict[str, str] = {}
    for detail in status.details if status else ():
        bad_request, error_info = error_details_pb2.BadRequest(), error_details_pb2.ErrorInfo()
        if detail.Unpack(bad_request):
            fields |= {v.field for v in bad_request.field_violations}
        elif detail.Unpack(error_info):
            info = dict(error_info.metadata)
    return call.code(), fields, info


def refused(method, request, metadata: Metadata = ()) -> tuple[grpc.StatusCode, set[str], dict[str, str]]:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as caught:
        method(request, metadata=metadata, timeout=10)
    return failure(caught.value)  # type: ignore[arg-type]


def test_anonymous_public_filing_gets_a_receipt_that_shows_only_state_and_dates(desk: Desk) -> None:
    filed = desk.file()
    assert filed.complaint.state == P.COMPLAINT_STATE_RECEIVED
    assert filed.complaint.anonymous and filed.complaint.region_code == "610112"
    assert filed.complaint.match_status == P.ENTERPRISE_MATCH_STATUS_UNMATCHED
    assert filed.complaint.HasField("due_time")
    assert len(filed.receipt_code) == 12 and not filed.HasField("complainant")
    status = desk.stub.GetComplaintByReceipt(P.GetComplaintByReceiptRequest(receipt_code=filed.receipt_code))
    assert status.state == P.COMPLAINT_STATE_RECEIVED
    assert status.create_time == filed.complaint.create_time
    overdue = desk.stub.ListOverdueComplaints(
        P.ListOverdueComplaintsRequest(), metadata=desk.regulator, timeout=10
    )
    assert list(overdue.complaints) == []  # due in 7 days (see the unit tests for overdue ones)
    code, fields, _ = refused(
        desk.stub.GetComplaintByReceipt, P.GetComplaintByReceiptRequest(receipt_code="x")
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and fields == {"receipt_code"}
    code, _, _ = refused(
        desk.stub.GetComplaintByReceipt, P.GetComplaintByReceiptRequest(receipt_code="ABCDEFGHJKLM")
    )
    assert code == grpc.StatusCode.NOT_FOUND


def test_the_contact_goes_back_only_to_the_system_that_filed_it(
    desk: Desk, caplog: pytest.LogCaptureFixture
) -> None:
    platform = desk.auth("system", subject="12315-platform")
    contact = P.ComplainantContact(display_name="张三", phone="+86 139-0000-1234")
    with caplog.at_level(logging.DEBUG):
        filed = desk.file(metadata=platform, complainant=contact)
        desk.stub.AcceptComplaint(
            P.AcceptComplaintRequest(name=filed.complaint.name), metadata=desk.regulator, timeout=10
        )
    logged = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    assert "CreateComplaint" in logged and "张三" not in logged
    assert "139-0000-1234" not in logged and "13900001234" not in logged
    assert filed.complainant == contact and not filed.complaint.anonymous
    assert desk.count(ComplainantRow) == 1
    get = P.GetComplaintRequest(name=filed.complaint.name)
    assert desk.stub.GetComplaint(get, metadata=platform, timeout=10).complainant == contact
    by_regulator = desk.stub.GetComplaint(get, metadata=desk.regulator, timeout=10)
    assert not by_regulator.HasField("complainant")
    assert b"13900001234" not in by_regulator.SerializeToString()
    assert "张三".encode() not in by_regulator.SerializeToString()
    code, _, _ = refused(desk.stub.GetComplaint, get, desk.auth("system", subject="another-system"))
    assert code == grpc.StatusCode.PERMISSION_DENIED
    # A public filer gets nothing back, though the contact is stored.
    public = desk.file(complainant=P.ComplainantContact(display_name="李四"))
    assert not public.HasField("complainant") and desk.count(ComplainantRow) == 2


def test_a_repeated_request_id_returns_the_original_and_a_changed_one_is_refused(desk: Desk) -> None:
    request_id = str(uuid.uuid4())
    first = desk.file(request_id=request_id)
    again = desk.file(request_id=request_id.upper())
    assert (again.complaint.name, again.receipt_code) == (first.complaint.name, first.receipt_code)
    code, _, _ = refused(
        desk.stub.CreateComplaint,
        P.CreateComplaintRequest(complaint=complaint(description="另一件事"), request_id=request_id),
    )
    assert code == grpc.StatusCode.ALREADY_EXISTS
    assert desk.count(ComplaintRow) == 1 and desk.event_types() == ["ComplaintFiled"]


def test_resolving_before_accepting_is_failed_precondition_and_changes_nothing(desk: Desk) -> None:
    filed = desk.file().complaint
    resolve = P.ResolveComplaintRequest(
        name=filed.name, substantiated=True, severity=P.COMPLAINT_SEVERITY_MAJOR, resolution="查实短斤少两"
    )
    code, _, info = refused(desk.stub.ResolveComplaint, resolve, desk.regulator)
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert info["current_state"] == "RECEIVED" and info["allowed_states"] == "ACCEPTED,REJECTED"
    after = desk.stub.GetComplaint(
        P.GetComplaintRequest(name=filed.name), metadata=desk.regulator, timeout=10
    )
    assert after.complaint == filed
    assert desk.event_types() == ["ComplaintFiled"]


def test_the_whole_workflow_with_etags_and_events(desk: Desk) -> None:
    filed = desk.file().complaint
    stale = filed.etag
    accepted = desk.stub.AcceptComplaint(
        P.AcceptComplaintRequest(name=filed.name, etag=filed.etag), metadata=desk.regulator, timeout=10
    ).complaint
    assert accepted.state == P.COMPLAINT_STATE_ACCEPTED and accepted.etag != stale
    code, _, _ = refused(
        desk.stub.InvestigateComplaint,
        P.InvestigateComplaintRequest(name=filed.name, etag=stale),
        desk.regulator,
    )
    assert code == grpc.StatusCode.ABORTED
    investigating = desk.stub.InvestigateComplaint(
        P.InvestigateComplaintRequest(name=filed.name), metadata=desk.regulator, timeout=10
    ).complaint
    assert investigating.state == P.COMPLAINT_STATE_INVESTIGATING
    code, fields, _ = refused(
        desk.stub.ResolveComplaint,
        P.ResolveComplaintRequest(name=filed.name, substantiated=True, resolution="查实"),
        desk.regulator,
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and fields == {"severity"}
    resolved = desk.stub.ResolveComplaint(
        P.ResolveComplaintRequest(
            name=filed.name,
            substantiated=True,
            severity=P.COMPLAINT_SEVERITY_SERIOUS,
            resolution="电子秤装有作弊器",
            reward_eligible=True,
        ),
        metadata=desk.regulator,
        timeout=10,
    ).complaint
    assert (resolved.state, resolved.substantiated, resolved.reward_eligible) == (
        P.COMPLAINT_STATE_RESOLVED,
        True,
        True,
    )
    assert not resolved.HasField("due_time")
    closed = desk.stub.CloseComplaint(
        P.CloseComplaintRequest(name=filed.name), metadata=desk.regulator, timeout=10
    )
    assert closed.complaint.state == P.COMPLAINT_STATE_CLOSED
    code, _, info = refused(
        desk.stub.AcceptComplaint, P.AcceptComplaintRequest(name=filed.name), desk.regulator
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION and info["allowed_states"] == ""
    assert desk.event_types() == ["ComplaintFiled", "ComplaintAccepted", "ComplaintResolved"]


def test_rejecting_needs_a_reason(desk: Desk) -> None:
    filed = desk.file().complaint
    code, fields, _ = refused(
        desk.stub.RejectComplaint, P.RejectComplaintRequest(name=filed.name), desk.regulator
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and fields == {"reason"}
    rejected = desk.stub.RejectComplaint(
        P.RejectComplaintRequest(name=filed.name, reason="不属于计量监管范围"),
        metadata=desk.regulator,
        timeout=10,
    ).complaint
    assert rejected.state == P.COMPLAINT_STATE_REJECTED and rejected.rejection_reason == "不属于计量监管范围"
    assert desk.event_types() == ["ComplaintFiled", "ComplaintRejected"]


def test_an_enterprise_sees_a_complaint_only_once_resolved_and_never_who_filed_it(desk: Desk) -> None:
    platform = desk.auth("system", subject="12315-platform")
    contact = P.ComplainantContact(display_name="王五", phone="13800138000")
    filed = desk.file(metadata=platform, complainant=contact).complaint
    enterprise = desk.auth("enterprise", uscc=USCC)
    get = P.GetComplaintRequest(name=filed.name)
    assert refused(desk.stub.GetComplaint, get, enterprise)[0] == grpc.StatusCode.NOT_FOUND
    listed = desk.stub.ListComplaints(P.ListComplaintsRequest(), metadata=enterprise, timeout=10)
    assert list(listed.complaints) == []
    desk.stub.AcceptComplaint(P.AcceptComplaintRequest(name=filed.name), metadata=desk.regulator, timeout=10)
    desk.stub.ResolveComplaint(
        P.ResolveComplaintRequest(
            name=filed.name,
            substantiated=True,
            severity=P.COMPLAINT_SEVERITY_MINOR,
            resolution="称重偏差超出允差",
            reward_eligible=True,
        ),
        metadata=desk.regulator,
        timeout=10,
    )
    seen = desk.stub.GetComplaint(get, metadata=enterprise, timeout=10)
    listed = desk.stub.ListComplaints(P.ListComplaintsRequest(), metadata=enterprise, timeout=10)
    assert [c.name for c in listed.complaints] == [filed.name]
    for message in (seen, listed):
        wire = message.SerializeToString()
        assert "王五".encode() not in wire and b"13800138000" not in wire
    view = seen.complaint
    assert not seen.HasField("complainant")
    assert view.substantiated and view.severity == P.COMPLAINT_SEVERITY_MINOR
    assert (view.description, list(view.evidence_uris), view.channel, view.reward_eligible) == (
        "",
        [],
        0,
        False,
    )
    other = desk.auth("enterprise", uscc=OTHER_REGION_USCC)
    assert refused(desk.stub.GetComplaint, get, other)[0] == grpc.StatusCode.NOT_FOUND
    bad_filter = P.ListComplaintsRequest(filter=f'enterprise = "enterprises/{USCC}"')
    assert refused(desk.stub.ListComplaints, bad_filter, other)[0] == grpc.StatusCode.PERMISSION_DENIED


def test_authorization(desk: Desk) -> None:
    mine = desk.file().complaint
    theirs = desk.file(complaint(OTHER_REGION_USCC)).complaint
    get_theirs = P.GetComplaintRequest(name=theirs.name)
    assert refused(desk.stub.GetComplaint, get_theirs, desk.regulator)[0] == grpc.StatusCode.PERMISSION_DENIED
    accept_theirs = P.AcceptComplaintRequest(name=theirs.name)
    assert (
        refused(desk.stub.AcceptComplaint, accept_theirs, desk.regulator)[0]
        == grpc.StatusCode.PERMISSION_DENIED
    )
    province = desk.auth("regulator", region="610000")
    assert desk.stub.AcceptComplaint(accept_theirs, metadata=province, timeout=10).complaint.state == 2
    get_mine = P.GetComplaintRequest(name=mine.name)
    assert refused(desk.stub.GetComplaint, get_mine)[0] == grpc.StatusCode.UNAUTHENTICATED
    enterprise = desk.auth("enterprise", uscc=USCC)
    accept_mine = P.AcceptComplaintRequest(name=mine.name)
    assert refused(desk.stub.AcceptComplaint, accept_mine, enterprise)[0] == grpc.StatusCode.PERMISSION_DENIED
    inspector = desk.auth("inspector", region="610100")
    assert refused(desk.stub.ListComplaints, P.ListComplaintsRequest(), inspector)[0] == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    outside = P.ListComplaintsRequest(filter="region_code = 610300")
    assert refused(desk.stub.ListComplaints, outside, desk.regulator)[0] == grpc.StatusCode.PERMISSION_DENIED
    overdue_outside = P.ListOverdueComplaintsRequest(region_code="610300")
    assert refused(desk.stub.ListOverdueComplaints, overdue_outside, desk.regulator)[0] == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    # A system caller lists only what it filed (these were filed by the public).
    system = desk.auth("system", subject="12315-platform")
    assert (
        list(desk.stub.ListComplaints(P.ListComplaintsRequest(), metadata=system, timeout=10).complaints)
        == []
    )
    # Nothing was changed by the refused calls.
    assert desk.event_types() == ["ComplaintFiled", "ComplaintFiled", "ComplaintAccepted"]


def test_invalid_input_names_every_field_and_stores_nothing(desk: Desk) -> None:
    bad = P.Complaint(enterprise="enterprises/91610112MA0000000X", evidence_uris=["not a uri"])
    request = P.CreateComplaintRequest(
        complaint=bad, request_id="nope", complainant=P.ComplainantContact(phone="call me")
    )
    code, fields, _ = refused(desk.stub.CreateComplaint, request)
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert fields == {
        "complaint.enterprise",
        "complaint.category",
        "complaint.channel",
        "complaint.description",
        "complaint.evidence_uris[0]",
        "complainant.phone",
        "request_id",
    }
    assert refused(desk.stub.CreateComplaint, P.CreateComplaintRequest())[1] == {"complaint"}
    future = complaint()
    future.occur_time.FromSeconds(4_102_444_800)  # 2100-01-01
    assert refused(desk.stub.CreateComplaint, P.CreateComplaintRequest(complaint=future))[1] == {
        "complaint.occur_time"
    }
    for name in ("", "complaints/../x", "enterprises/1"):
        code, fields, _ = refused(desk.stub.GetComplaint, P.GetComplaintRequest(name=name), desk.regulator)
        assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, {"name"})
    code, fields, _ = refused(
        desk.stub.ListComplaints, P.ListComplaintsRequest(filter="state = NOPE"), desk.regulator
    )
    assert (code, fields) == (grpc.StatusCode.INVALID_ARGUMENT, {"filter"})
    assert desk.count(ComplaintRow) == 0 and desk.count(OutboxRecord) == 0


def test_a_burst_of_200_anonymous_complaints_is_stored_visible_and_linked(desk: Desk) -> None:
    categories = (P.COMPLAINT_CATEGORY_SHORT_WEIGHT_OR_MEASURE, P.COMPLAINT_CATEGORY_CHEATING_INSTRUMENT)

    def file(i: int) -> str:
        return desk.file(complaint(category=categories[i % 2], description=f"第{i}次投诉")).complaint.name

    with ThreadPoolExecutor(8) as pool:
        filed = set(pool.map(file, range(200)))
    assert len(filed) == 200
    seen: dict[str, P.Complaint] = {}
    request = P.ListComplaintsRequest(filter=f'enterprise = "enterprises/{USCC}"', page_size=70)
    while True:
        page = desk.stub.ListComplaints(request, metadata=desk.regulator, timeout=10)
        seen.update((c.name, c) for c in page.complaints)
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    assert set(seen) == filed
    originals = {name for name, c in seen.items() if not c.duplicate_of}
    # Anonymous filings share one complainant: one original per category, everything else links to it.
    assert sorted(seen[name].category for name in originals) == sorted(categories)
    for c in seen.values():
        if c.duplicate_of:
            assert c.duplicate_of in originals and seen[c.duplicate_of].category == c.category
    duplicates = desk.stub.ListComplaints(
        P.ListComplaintsRequest(filter="duplicate = true", page_size=1000),
        metadata=desk.regulator,
        timeout=10,
    )
    assert len(duplicates.complaints) == 200 - len(originals)
