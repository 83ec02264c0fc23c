"""Scoring end to end on a real broker and database: events in, grades out over gRPC.

The first tests use the real topic names on the session broker with USCCs no other test uses; the
replay test uses a topic set of its own, so the state it compares cannot be touched by other tests.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc.error_details_pb2 import BadRequest
from grpc_status import rpc_status
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from sqlalchemy import Engine
from sqlmodel import Session, select

from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2
from integrity.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from operations import catalogue
from operations.broker import LocalBroker, ensure_topics
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import TABLES, EnterpriseProjection, GradeHistoryRow, GradeRow
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.bootstrap import build_app
from services.scoring.domain.grades import Grade, GradeChange, GradeLevel
from services.scoring.entrypoints.consumer import ScoringEventHandler
from services.scoring.entrypoints.grpc import ScoringServicer
from shared import topics
from shared.auth import Principal, Role, acting_as, issue_token
from shared.db import create_tables, make_engine
from shared.events import Event, decode, new_event, to_record
from shared.grpc_server import RunningService, start
from shared.inbox import ProcessedEvent
from shared.outbox import OutboxRecord
from shared.settings import Settings
from shared.uscc import with_check_character
from tests.helpers import wait_until
from tests.integration.kafka_reading import read_topic

pytestmark = pytest.mark.integration

# Each test process draws USCCs from its own random organisation-code prefix, so reruns against a
# long-lived broker never collide either.
_RUN = uuid.uuid4().int
_serial = itertools.count()
WAIT_SECONDS = 60.0


def fresh_uscc(region: str = "610112") -> str:
    tag = "".join("0123456789ABCDEFGHJKLMNPQRTUWXY"[(_RUN >> (5 * i)) % 31] for i in range(4))
    return with_check_character(f"91{region}{tag}{next(_serial):05d}")


def registration(uscc: str, region: str = "610112") -> Event:
    enterprise = enterprises_pb2.Enterprise(
        name=f"enterprises/{uscc}",
        uscc=uscc,
        display_name=f"测试企业 {uscc}",
        region_code=region,
        industry_code="F5265",
        subject_type=enterprises_pb2.SubjectType.SUBJECT_TYPE_TRADE_INSTRUMENT_USER,
    )
    return new_event("//integrity/enterprises", uscc, events_pb2.EnterpriseRegistered(enterprise=enterprise))


@dataclass
class Scoring:
    """A started scoring app and what a test needs to talk to it."""

    settings: Settings
    service: RunningService
    group_id: str

    def stub(self) -> scoring_pb2_grpc.ScoringServiceStub:
        return scoring_pb2_grpc.ScoringServiceStub(grpc.insecure_channel(self.service.address))

    def token(self, role: Role, **claims: str) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {issue_token(self.settings, role, **claims)}")]

    def get_grade(self, graded: str, role: Role = Role.SYSTEM, **claims: str) -> scoring_pb2.Grade:
        request = scoring_pb2.GetGradeRequest(name=f"enterprises/{graded}/grade")
        return self.stub().GetGrade(request, metadata=self.token(role, **claims), timeout=10).grade

    def wait_for_grade(self, uscc: str) -> scoring_pb2.Grade:
        def graded() -> scoring_pb2.Grade | None:
            try:
                return self.get_grade(uscc)
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND:
                    raise
                return None

        return wait_until(graded, timeout=WAIT_SECONDS, interval=0.2, message=f"no grade for {uscc}")


@pytest.fixture
def settings(broker: LocalBroker, database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        var_dir=tmp_path / "var",
        kafka_bootstrap_servers=broker.bootstrap,
        scoring_database_url=database_url,
        relay_poll_seconds=0.05,
    )


@pytest.fixture
def run_scoring(settings: Settings) -> Iterator[Any]:
    """Starts scoring apps (each with a fresh consumer group unless given) and stops them afterwards."""
    started: list[RunningService] = []

    def run(group_id: str | None = None, source_topics: list[str] | None = None) -> Scoring:
        group_id = group_id or f"integrity-scoring-test-{uuid.uuid4().hex[:8]}"
        service = start(build_app(settings, group_id=group_id, source_topics=source_topics), 0)
        started.append(service)
        return Scoring(settings, service, group_id)

    yield run
    for service in started:
        service.stop(grace=1)


@pytest.fixture
def producer(broker: LocalBroker) -> Iterator[KafkaProducer]:
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    yield producer
    producer.close(timeout=5)


def publish(producer: KafkaProducer, topic: str, event: Event) -> None:
    record = to_record(topic, event)
    producer.send(topic, key=record.key, value=record.value, headers=record.headers).get(timeout=15)


def caught_up(bootstrap: str, group_id: str, source_topics: list[str]) -> bool:
    """True when `group_id` has committed every partition of `source_topics` up to its end."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        partitions = [
            TopicPartition(t, p) for t in source_topics for p in consumer.partitions_for_topic(t) or ()
        ]
        end = consumer.end_offsets(partitions)
        committed = admin.list_group_offsets(group_id).get(group_id, {})
        return all(end[tp] == 0 or (tp in committed and committed[tp].offset >= end[tp]) for tp in partitions)
    finally:
        consumer.close()
        admin.close()


def test_registration_gets_a_grade_served_over_grpc(run_scoring, producer, broker) -> None:
    uscc, other = fresh_uscc(), fresh_uscc()
    publish(producer, catalogue.ENTERPRISES.publishes, registration(uscc))
    publish(producer, catalogue.ENTERPRISES.publishes, registration(other))

    scoring = run_scoring()
    grade = scoring.wait_for_grade(uscc)
    assert grade.name == f"enterprises/{uscc}/grade"
    assert grade.level == scoring_pb2.GRADE_LEVEL_B and grade.provisional
    assert grade.reasons[0].code == "NO_HISTORY"
    assert grade.policy_version == "policy-v3" and grade.label == "major_or_worse"

    # An enterprise reads its own grade, not another's.
    assert scoring.get_grade(uscc, Role.ENTERPRISE, uscc=uscc).level == scoring_pb2.GRADE_LEVEL_B
    scoring.wait_for_grade(other)
    with pytest.raises(grpc.RpcError) as denied:
        scoring.get_grade(other, Role.ENTERPRISE, uscc=uscc)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED

    # Not there yet: NOT_FOUND saying why; a malformed name: INVALID_ARGUMENT naming the field.
    with pytest.raises(grpc.RpcError) as missing:
        scoring.get_grade(fresh_uscc())
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND and "in flight" in missing.value.details()
    with pytest.raises(grpc.RpcError) as malformed:
        scoring.stub().GetGrade(
            scoring_pb2.GetGradeRequest(name="enterprises/123/grade"), metadata=scoring.token(Role.SYSTEM)
        )
    assert malformed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    [bad_request] = [
        detail for detail in rpc_status.from_call(malformed.value).details if detail.Is(BadRequest.DESCRIPTOR)
    ]
    violations = BadRequest()
    bad_request.Unpack(violations)
    assert [v.field for v in violations.field_violations] == ["name"]

    # The provisional grade is announced once on the scoring topic, through the outbox relay.
    def announced() -> list[Event]:
        return [
            decode(r.value)
            for r in read_topic(broker.bootstrap, catalogue.SCORING.publishes)
            if r.key == uscc.encode()
        ]

    [changed] = wait_until(announced, timeout=WAIT_SECONDS, interval=0.2)
    assert changed.grade_changed.grade.level == scoring_pb2.GRADE_LEVEL_B
    assert changed.grade_changed.previous_level == scoring_pb2.GRADE_LEVEL_UNSPECIFIED


def test_a_serious_violation_from_the_inspections_topic_grades_c_or_worse(
    run_scoring, producer, broker
) -> None:
    uscc = fresh_uscc()
    inspected = datetime.now(UTC)
    violation = events_pb2.InspectionCompleted(
        inspection=f"inspections/{uuid.uuid4()}",
        outcome=inspections_pb2.INSPECTION_OUTCOME_SERIOUS_VIOLATION,
        summary=events_pb2.InspectionFindingSummary(instruments_checked=4, tampering_found=True),
    )
    # Across topics there is no order: the inspection may well be consumed before the registration.
    publish(
        producer,
        catalogue.INSPECTIONS.publishes,
        new_event("//integrity/inspections", uscc, violation, inspected),
    )
    publish(producer, catalogue.ENTERPRISES.publishes, registration(uscc))

    scoring = run_scoring()

    def graded_serious() -> scoring_pb2.Grade | None:
        grade = scoring.wait_for_grade(uscc)
        return grade if grade.reasons[0].code == "SERIOUS_VIOLATION" else None

    message = f"{uscc} never graded for its serious violation"
    grade = wait_until(graded_serious, timeout=WAIT_SECONDS, interval=0.2, message=message)
    assert grade.level >= scoring_pb2.GRADE_LEVEL_C and not grade.provisional


def test_garbage_goes_to_the_dead_letter_topic_and_consumption_goes_on(run_scoring, producer, broker) -> None:
    garbage = f"not an integrity event {uuid.uuid4()}".encode()
    producer.send(catalogue.ENTERPRISES.publishes, key=b"garbage", value=garbage).get(timeout=15)
    after = fresh_uscc()
    publish(producer, catalogue.ENTERPRISES.publishes, registration(after))

    scoring = run_scoring()
    assert scoring.wait_for_grade(after).provisional

    def dead_lettered() -> list[Any]:
        return [
            r
            for r in read_topic(broker.bootstrap, topics.dead_letter(catalogue.ENTERPRISES.publishes))
            if r.value == garbage
        ]

    [record] = wait_until(dead_lettered, timeout=WAIT_SECONDS, interval=0.2)
    headers = dict(record.headers)
    assert headers["error"] and headers["original_topic"] == catalogue.ENTERPRISES.publishes.encode()


def dump(engine: Engine) -> dict[str, list[dict[str, Any]]]:
    """Scoring's state, in a stable order (the outbox by event id: the relay may be marking rows sent)."""
    with Session(engine) as session:
        return {
            "projection": [
                r.model_dump() for r in session.exec(select(EnterpriseProjection).order_by("uscc"))
            ],
            "grades": [r.model_dump() for r in session.exec(select(GradeRow).order_by("uscc"))],
            "history": [r.model_dump() for r in session.exec(select(GradeHistoryRow).order_by("id"))],
            "outbox": sorted(r.event_id for r in session.exec(select(OutboxRecord))),
            "processed": sorted(r.event_id for r in session.exec(select(ProcessedEvent))),
        }


def test_replaying_the_sources_from_the_start_changes_nothing(
    run_scoring, producer, broker, settings
) -> None:
    suffix = uuid.uuid4().hex[:8]
    source_topics = [
        f"{topic}.replay-{suffix}"
        for topic in (catalogue.ENTERPRISES.publishes, catalogue.INSPECTIONS.publishes)
    ]
    ensure_topics(broker.bootstrap, source_topics)
    enterprises_topic = source_topics[0]
    usccs = [fresh_uscc(region) for region in ("610112", "610302", "610112")]
    for uscc in usccs:
        publish(producer, enterprises_topic, registration(uscc))
    publish(producer, enterprises_topic, registration(usccs[0]))  # a second registration, new event id
    producer.send(enterprises_topic, key=b"x", value=b"\x00garbage").get(timeout=15)

    first = run_scoring(source_topics=source_topics)
    for uscc in usccs:
        first.wait_for_grade(uscc)
    wait_until(lambda: caught_up(broker.bootstrap, first.group_id, source_topics), timeout=WAIT_SECONDS)
    first.service.stop(grace=1)

    engine = make_engine(settings.database_url("scoring"))
    try:
        before = dump(engine)
        assert len(before["grades"]) == 3 and len(before["history"]) == 3 and len(before["outbox"]) == 3
        assert len(before["processed"]) == 4

        replay = run_scoring(source_topics=source_topics)  # a new group: starts from offset 0
        wait_until(lambda: caught_up(broker.bootstrap, replay.group_id, source_topics), timeout=WAIT_SECONDS)
        assert dump(engine) == before
    finally:
        engine.dispose()


def test_risk_list_filters_and_pages_on_the_real_database(database_url: str) -> None:
    """Keyset pagination and prefix filters in the database's own SQL (PostgreSQL as well as SQLite)."""
    engine = make_engine(database_url)
    create_tables(engine, TABLES)
    handler = ScoringEventHandler(load_policy())
    xian = [fresh_uscc("610112") for _ in range(5)]
    baoji = fresh_uscc("610302")
    try:
        for uscc in xian:
            with ScoringUnitOfWork(engine) as uow:
                handler(uow, registration(uscc, "610112"), catalogue.ENTERPRISES.publishes)
                uow.commit()
        with ScoringUnitOfWork(engine) as uow:
            handler(uow, registration(baoji, "610302"), catalogue.ENTERPRISES.publishes)
            riskier = Grade(GradeLevel.D, 480, False, (), datetime.now(UTC), 0.5, "policy-v0")
            current = uow.grades.get(xian[3])
            uow.grades.save([GradeChange(xian[3], riskier, current, "610112")], "test", datetime.now(UTC))
            uow.commit()

        servicer = ScoringServicer(partial(ScoringUnitOfWork, engine), load_policy())
        regulator = Principal("xian", Role.REGULATOR, region="610100")
        seen, token = [], ""
        with acting_as(regulator):
            while True:
                request = scoring_pb2.ListRiskEntriesRequest(page_size=2, page_token=token)
                page = servicer.ListRiskEntries(request, None)  # type: ignore[arg-type]
                seen += [entry.enterprise.removeprefix("enterprises/") for entry in page.risk_entries]
                if not (token := page.next_page_token):
                    break
        assert seen == [xian[3], *sorted(set(xian) - {xian[3]})]
    finally:
        engine.dispose()
