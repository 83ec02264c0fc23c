"""Hostile and malformed input at every EnterpriseService RPC, over a real socket (Kafka is dead).

Whatever arrives, the answer is a clear status, never INTERNAL or UNKNOWN, and a refused call
leaves no trace: the database (registry, instruments, declarations, outbox) is exactly as before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.protobuf.message import Message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from integrity.enterprises.v1 import enterprises_pb2 as pb
from integrity.enterprises.v1 import enterprises_pb2_grpc
from services.enterprises.adapters.tables import (
    CapabilityDeclarationRow,
    CommitmentRow,
    EnterpriseRow,
    InstrumentRow,
    VerificationRow,
)
from services.enterprises.bootstrap import build_app
from shared.auth import issue_token
from shared.db import make_engine
from shared.grpc_server import start
from shared.outbox import OutboxRecord
from shared.settings import Settings
from tests.integration.test_enterprises_grpc import DEAD_BROKER, enterprise, uscc

pytestmark = [
    pytest.mark.integration,
    # The server's threads (the relay's backoff jitter) use `random` while hypothesis draws.
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

SERVICE = "integrity.enterprises.v1.EnterpriseService"
NEVER = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}


@dataclass
class Target:
    channel: grpc.Channel
    stub: enterprises_pb2_grpc.EnterpriseServiceStub
    engine: Engine
    credentials: dict[str, tuple[tuple[str, str], ...]]
    names: dict[str, str]

    def digest(self) -> str:
        """Everything a call could have written; the relay's retry bookkeeping on the outbox excluded."""
        with Session(self.engine) as session:
            parts = [
                repr(session.exec(select(table).order_by(*table.__table__.primary_key.columns)).all())  # type: ignore[attr-defined]
                for table in (
                    EnterpriseRow,
                    InstrumentRow,
                    VerificationRow,
                    CommitmentRow,
                    CapabilityDeclarationRow,
                )
            ]
            parts.append(
                repr(session.exec(select(OutboxRecord.event_id).order_by(col(OutboxRecord.id))).all())
            )
        return hashlib.sha256("|".join(parts).encode()).hexdigest()


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    directory: Path = tmp_path_factory.mktemp("hostile")
    url = f"sqlite:///{(directory / 'enterprises.db').as_posix()}"
    config = Settings(
        var_dir=directory / "var", enterprises_database_url=url, kafka_bootstrap_servers=DEAD_BROKER
    )
    running = start(build_app(config), 0)
    channel = grpc.insecure_channel(running.address)
    stub = enterprises_pb2_grpc.EnterpriseServiceStub(channel)
    own, other = uscc(1), uscc(2)

    def bearer(role: str, **claims: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {issue_token(config, role, **claims)}"),)

    credentials = {
        "system": bearer("system"),
        "own": bearer("enterprise", uscc=own),
        "other": bearer("enterprise", uscc=other),
        "regulator": bearer("regulator", region="610100"),
        "none": (),
        "garbage": (("authorization", "Bearer not.a.jwt"),),
    }
    for serial in (1, 2):
        stub.CreateEnterprise(
            pb.CreateEnterpriseRequest(enterprise=enterprise(serial)), metadata=credentials["system"]
        )
    instrument = stub.CreateInstrument(
        pb.CreateInstrumentRequest(
            parent=f"enterprises/{own}",
            instrument=pb.Instrument(type=pb.INSTRUMENT_TYPE_TRADE_SCALE, serial_number="TS-1"),
        ),
        metadata=credentials["system"],
    ).instrument
    commitment = stub.CreateCommitment(
        pb.CreateCommitmentRequest(
            parent=f"enterprises/{own}",
            commitment=pb.Commitment(items=[1], valid_from="2099-01-01", valid_until="2099-12-31"),
        ),
        metadata=credentials["own"],
    ).commitment
    names = {
        "own": f"enterprises/{own}",
        "other": f"enterprises/{other}",
        "instrument": instrument.name,
        "commitment": commitment.name,
        "code": commitment.public_code,
    }
    engine = make_engine(url)
    try:
        yield Target(channel, stub, engine, credentials, names)
    finally:
        channel.close()
        running.stop(1.0)
        engine.dispose()


# --- strategies ---------------------------------------------------------------------------------------

HOSTILE_TEXT = [
    "",
    " ",
    "enterprises/",
    "enterprises/../../etc/passwd",
    "enterprises/%00",
    "'; DROP TABLE enterprise_registry; --",
    "\x00\x01\x7f",
    "\u202e\u2028\ud7ff\ufeff",
    "A" * 5000,
    "*",
    "enterprises/91610112000000001L/instruments/../../x",
    "0" * 16,
    "CMT-2222222222",
    "2025-02-30",
    "9999-12-31",
    "0000-01-01",
    "-1",
]


HOSTILE = st.one_of(st.text(max_size=60), st.sampled_from(HOSTILE_TEXT))
HOSTILE_INT = st.one_of(st.integers(-3, 12), st.integers(-(2**31), 2**31 - 1))


@st.composite
def rpc_calls(draw: st.DrawFn, method: str, names: dict[str, str]) -> Message:
    """One request to `method`: each field valid (often) or hostile, so calls get past validation too
    and reach the lookups, etag checks and writes, where a partial write could hide."""

    def text(*valid: str) -> str:
        if valid and draw(st.integers(0, 3)):
            return draw(st.sampled_from(valid))
        return draw(HOSTILE)

    def number(*valid: int) -> int:
        if valid and draw(st.integers(0, 3)):
            return draw(st.sampled_from(valid))
        return draw(HOSTILE_INT)

    def name(*kinds: str) -> str:
        return text(*(names[k] for k in kinds))

    some_uscc = [uscc(n) for n in (1, 2, 3, 4)]
    company = pb.Enterprise(
        name=name("own", "other"),
        uscc=text(*some_uscc),
        display_name=text("某某有限公司", "另一家公司"),
        region_code=text("610112", "610113", "610202"),
        industry_code=text("5265", "F5265", "C1431"),
        subject_type=number(1, 2, 7),
        size_class=number(0, 1, 4),
        registered_date=text("2015-06-30", ""),
        status=number(1, 2, 3),
        etag=text(""),
    )
    verification = pb.Verification(
        verification_date=text("2025-01-01", "2024-06-30"),
        result=number(1, 2),
        certificate_number=text("JD-1", "JD-2"),
        next_due_date=text("", "2026-01-01"),
    )
    record = pb.RecordVerificationRequest(instrument=name("instrument"), verification=verification)
    page = {"page_size": number(0, 1, 5, 5000), "page_token": text("")}
    requests: dict[str, Callable[[], Message]] = {
        "CreateEnterprise": lambda: pb.CreateEnterpriseRequest(
            enterprise=company, request_id=text("", "3f1c2a9e-8d4b-4c6f-9a1e-2b7d5c0e4f81")
        ),
        "GetEnterprise": lambda: pb.GetEnterpriseRequest(name=name("own", "other")),
        "ListEnterprises": lambda: pb.ListEnterprisesRequest(
            filter=text("", 'region_code = "610100"', "status = ENTERPRISE_STATUS_ACTIVE"), **page
        ),
        "UpdateEnterprise": lambda: pb.UpdateEnterpriseRequest(
            enterprise=company,
            update_mask=field_mask_pb2.FieldMask(
                paths=draw(
                    st.lists(st.sampled_from(["display_name", "status", "region_code", "uscc", "*", "x"]))
                )
            ),
        ),
        "CreateInstrument": lambda: pb.CreateInstrumentRequest(
            parent=name("own", "other"),
            instrument=pb.Instrument(
                type=number(1, 2, 8),
                serial_number=text("S-1", "S-2", "TS-1"),
                location=text("", "1号柜台"),
                usage=number(0, 1, 2),
            ),
            request_id=text("", "3f1c2a9e-8d4b-4c6f-9a1e-2b7d5c0e4f81"),
        ),
        "ListInstruments": lambda: pb.ListInstrumentsRequest(parent=name("own", "other"), **page),
        "RecordVerification": lambda: record,
        "BatchRecordVerifications": lambda: pb.BatchRecordVerificationsRequest(
            requests=[record] * draw(st.integers(0, 3))
        ),
        "CreateCommitment": lambda: pb.CreateCommitmentRequest(
            parent=name("own", "other"),
            commitment=pb.Commitment(
                items=draw(st.lists(st.one_of(st.integers(1, 6), HOSTILE_INT), max_size=4)),
                free_text=text("", "缺一赔十"),
                valid_from=text("2099-01-01"),
                valid_until=text("2099-06-01"),
            ),
            request_id=text("", "3f1c2a9e-8d4b-4c6f-9a1e-2b7d5c0e4f81"),
        ),
        "WithdrawCommitment": lambda: pb.WithdrawCommitmentRequest(name=name("commitment")),
        "DeclareCapability": lambda: pb.DeclareCapabilityRequest(
            parent=name("own", "other"),
            declaration=pb.CapabilityDeclaration(
                has_management_system=draw(st.booleans()),
                iso10012_certificate_number=text(""),
                instrument_count=number(0, 10),
                metrology_staff_count=number(0, 2),
                in_house_calibration=draw(st.booleans()),
            ),
            request_id=text("", "3f1c2a9e-8d4b-4c6f-9a1e-2b7d5c0e4f81"),
        ),
        "ListCommitments": lambda: pb.ListCommitmentsRequest(parent=name("own", "other"), **page),
        "ListCapabilityDeclarations": lambda: pb.ListCapabilityDeclarationsRequest(
            parent=name("own", "other"), **page
        ),
        "LookupPublicCode": lambda: pb.LookupPublicCodeRequest(public_code=name("code")),
    }
    return requests[method]()


def _call(target: Target, method: str, request: bytes, credential: str) -> grpc.StatusCode:
    invoke = target.channel.unary_unary(f"/{SERVICE}/{method}")
    try:
        invoke(request, metadata=target.credentials[credential], timeout=10)
    except grpc.RpcError as err:
        return err.code()  # type: ignore[attr-defined,no-any-return]
    return grpc.StatusCode.OK


CREDENTIALS = st.sampled_from(["system", "own", "other", "regulator", "none", "garbage"])


METHODS = [m.name for m in pb.DESCRIPTOR.services_by_name["EnterpriseService"].methods]


@pytest.mark.parametrize("method", METHODS)
@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(data=st.data(), credential=CREDENTIALS)
def test_hostile_requests_get_clear_statuses_and_refusals_write_nothing(
    target: Target, method: str, data: st.DataObject, credential: str
) -> None:
    request = data.draw(rpc_calls(method, target.names))
    before = target.digest()
    code = _call(target, method, request.SerializeToString(), credential)
    assert code not in NEVER, f"{method} answered {code} to {request!r:.300}"
    if code != grpc.StatusCode.OK:
        assert target.digest() == before, f"{method} refused with {code} but wrote something"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(METHODS),
    body=st.binary(max_size=200),
    credential=CREDENTIALS,
)
def test_malformed_bytes_are_never_internal_and_change_nothing(
    target: Target, method: str, body: bytes, credential: str
) -> None:
    before = target.digest()
    code = _call(target, method, body, credential)
    assert code not in NEVER, f"{method} answered {code} to {body!r}"
    if code != grpc.StatusCode.OK:
        assert target.digest() == before
