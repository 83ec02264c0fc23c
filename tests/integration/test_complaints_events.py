"""Complaint events reach the complaints topic through the outbox relay, and never carry the complainant."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from sqlmodel import Session, col, func, select

from integrity.complaints.v1 import complaints_pb2 as P
from integrity.complaints.v1 import complaints_pb2_grpc
from operations import catalogue
from operations.broker import LocalBroker
from services.complaints.bootstrap import build_app
from shared.auth import issue_token
from shared.db import make_engine
from shared.events import decode, payload_of
from shared.grpc_server import start
from shared.outbox import OutboxRecord
from shared.settings import Settings
from tests.helpers import valid_uscc, wait_until
from tests.integration.kafka_reading import read_topic

pytestmark = pytest.mark.integration


def unpublished(settings: Settings) -> int:
    engine = make_engine(settings.database_url("complaints"))
    try:
        with Session(engine) as session:
            pending = (
                select(func.count()).select_from(OutboxRecord).where(col(OutboxRecord.published_at).is_(None))
            )
            return int(session.exec(pending).one())
    finally:
        engine.dispose()


NAMES = ("赵六complainant", "Alice Whistleblower")
PHONES = ("13912345678", "+86 188 0000 9999")


def test_events_are_published_keyed_by_uscc_without_any_complainant_bytes(
    broker: LocalBroker, tmp_path: Path
) -> None:
    settings = Settings(var_dir=tmp_path, kafka_bootstrap_servers=broker.bootstrap, relay_poll_seconds=0.05)
    system = (("authorization", f"Bearer {issue_token(settings, 'system', subject='12315-platform')}"),)
    regulator = (("authorization", f"Bearer {issue_token(settings, 'regulator', region='610000')}"),)
    uscc = valid_uscc(4242, "610112")
    running = start(build_app(settings), 0)
    try:
        with grpc.insecure_channel(running.address) as channel:
            stub = complaints_pb2_grpc.ComplaintServiceStub(channel)
            names = []
            for display_name, phone in zip(NAMES, PHONES, strict=True):
                request = P.CreateComplaintRequest(
                    complaint=P.Complaint(
                        enterprise=f"enterprises/{uscc}",
                        category=P.COMPLAINT_CATEGORY_CHEATING_INSTRUMENT,
                        channel=P.COMPLAINT_CHANNEL_HOTLINE,
                        description="加油机疑似作弊",
                    ),
                    complainant=P.ComplainantContact(display_name=display_name, phone=phone),
                )
                names.append(stub.CreateComplaint(request, metadata=system, timeout=10).complaint.name)
            first = names[0]
            stub.AcceptComplaint(P.AcceptComplaintRequest(name=first), metadata=regulator, timeout=10)
            stub.ResolveComplaint(
                P.ResolveComplaintRequest(
                    name=first, substantiated=True, severity=P.COMPLAINT_SEVERITY_SERIOUS, resolution="查实"
                ),
                metadata=regulator,
                timeout=10,
            )
            stub.RejectComplaint(
                P.RejectComplaintRequest(name=names[1], reason="重复投诉"), metadata=regulator, timeout=10
            )
            wait_until(lambda: unpublished(settings) == 0, message="the relay did not drain the outbox")
    finally:
        running.stop(2.0)

    records = [
        r
        for r in read_topic(broker.bootstrap, catalogue.COMPLAINTS.publishes, at_least=5)
        if r.key == uscc.encode()
    ]
    events = [decode(r.value) for r in records]
    assert sorted(e.type.rsplit(".", 1)[-1] for e in events) == [
        "ComplaintAccepted",
        "ComplaintFiled",
        "ComplaintFiled",
        "ComplaintRejected",
        "ComplaintResolved",
    ]
    secrets = [s.encode() for s in (*NAMES, *PHONES, "13912345678", "8618800009999")]
    for record in records:
        wire = record.value + b"".join(k.encode() + (v or b"") for k, v in record.headers)
        assert not any(secret in wire for secret in secrets)
    filed = [payload_of(e) for e in events if e.HasField("complaint_filed")]
    assert [f.anonymous for f in filed] == [False, False]
    # Different contacts are different complainants, so neither repeats the other.
    assert [f.duplicate_of for f in filed] == ["", ""]
    (resolved,) = [payload_of(e) for e in events if e.HasField("complaint_resolved")]
    assert (resolved.complaint, resolved.substantiated) == (first, True)
    assert resolved.severity == P.COMPLAINT_SEVERITY_SERIOUS
