"""Nothing acknowledged is lost when the broker is down: an enterprise registered during an outage gets
its grade once the broker is back, through the real relay, broker and scoring consumer."""

from __future__ import annotations

import uuid
from pathlib import Path

import grpc
from sqlmodel import Session, select

from integrity.enterprises.v1 import enterprises_pb2, enterprises_pb2_grpc
from integrity.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from operations import catalogue
from operations.broker import LocalBroker, ensure_topics
from services.enterprises.bootstrap import build_app as build_enterprises
from services.scoring.bootstrap import build_app as build_scoring
from shared.auth import Role, issue_token
from shared.db import make_engine
from shared.grpc_server import start
from shared.outbox import OutboxRecord
from shared.settings import Settings
from tests.helpers import quiet_port, valid_uscc, wait_until


def _grade_or_none(
    stub: scoring_pb2_grpc.ScoringServiceStub, name: str, token: str
) -> scoring_pb2.Grade | None:
    try:
        return stub.GetGrade(
            scoring_pb2.GetGradeRequest(name=name), metadata=[("authorization", f"Bearer {token}")], timeout=5
        ).grade
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.NOT_FOUND, err
        return None


def _outbox_rows(database_url: str) -> list[OutboxRecord]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return list(session.exec(select(OutboxRecord)))
    finally:
        engine.dispose()


def test_enterprise_created_while_broker_down_gets_grade_when_it_returns(tmp_path: Path) -> None:
    # Nothing listens here until the broker "comes back"; outside the ephemeral range, so the relay's
    # retries cannot connect to themselves and take the port (seen once in CI: Tansu could not bind).
    port = quiet_port()
    settings = Settings(
        var_dir=tmp_path,
        kafka_bootstrap_servers=f"127.0.0.1:{port}",
        enterprises_database_url=f"sqlite:///{tmp_path / 'enterprises.db'}",
        scoring_database_url=f"sqlite:///{tmp_path / 'scoring.db'}",
        relay_poll_seconds=0.1,
        relay_max_backoff_seconds=0.5,
    )
    token = issue_token(settings, Role.SYSTEM, subject="business-registry")
    auth = [("authorization", f"Bearer {token}")]
    uscc = valid_uscc(4242)

    enterprises = start(build_enterprises(settings), 0)
    try:
        with grpc.insecure_channel(enterprises.address) as channel:
            created = enterprises_pb2_grpc.EnterpriseServiceStub(channel).CreateEnterprise(
                enterprises_pb2.CreateEnterpriseRequest(
                    enterprise=enterprises_pb2.Enterprise(
                        uscc=uscc,
                        display_name="西安市雁塔区诚信加油站",
                        region_code="610113",
                        industry_code="F5265",
                        subject_type=enterprises_pb2.SUBJECT_TYPE_TRADE_INSTRUMENT_USER,
                    ),
                    request_id=str(uuid.uuid4()),
                ),
                metadata=auth,
                timeout=10,
            )
        assert created.enterprise.name == f"enterprises/{uscc}"

        # The RPC succeeded with no broker; its event waits in the outbox while the relay retries.
        rows = wait_until(
            lambda: [r for r in _outbox_rows(settings.database_url("enterprises")) if r.attempts > 0],
            message="the relay never tried to publish",
        )
        assert len(rows) == 1
        assert rows[0].published_at is None
        assert rows[0].last_error

        with LocalBroker(port=port) as broker:
            ensure_topics(broker.bootstrap, catalogue.topics())
            scoring = start(build_scoring(settings), 0)
            try:
                with grpc.insecure_channel(scoring.address) as channel:
                    stub = scoring_pb2_grpc.ScoringServiceStub(channel)
                    grade = wait_until(
                        lambda: _grade_or_none(stub, f"enterprises/{uscc}/grade", token),
                        timeout=60,
                        interval=0.2,
                        message="no grade after the broker came back",
                    )
            finally:
                scoring.stop(1)
        # Graded from what is known (policy-v3: no fixed provisional score), flagged provisional.
        assert grade.level == scoring_pb2.GRADE_LEVEL_B
        assert grade.provisional and grade.reasons[0].code == "NO_HISTORY"
        assert all(r.published_at is not None for r in _outbox_rows(settings.database_url("enterprises")))
    finally:
        enterprises.stop(1)
