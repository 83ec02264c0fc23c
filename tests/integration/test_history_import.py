"""History import on a real broker: the imported events reach scoring through the services' own outbox
relays, a second import changes nothing, and an exported history imported into an empty stack grades
every enterprise the same, with the decisions on grades (an accepted appeal and its review, a rejected one,
a credit repair granted on the enterprise's application, a serious-dishonesty listing) as they were
decided: who, when and why.

Each stack gets topics of its own (the importer's `topic_of`), so neither sees the other's events.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from sqlalchemy import func, select
from sqlmodel import Session, col
from sqlmodel import select as select_rows

from integrity.inspections.v1 import inspections_pb2
from integrity.scoring.v1 import scoring_pb2 as S
from integrity.scoring.v1 import scoring_pb2_grpc
from operations import catalogue
from operations.broker import LocalBroker, ensure_topics
from operations.history.exporter import export_history
from operations.history.importer import ImportSummary, import_lines
from services.scoring.adapters.tables import (
    AppealRow,
    CreditRepairRow,
    DishonestyListingRow,
    EnterpriseEventRow,
    GradeRow,
    OverrideReviewRow,
    RepairApplicationRow,
)
from services.scoring.bootstrap import build_app
from shared.auth import Role, issue_token
from shared.cloudevents import to_json_line
from shared.db import make_engine
from shared.grpc_server import RunningService, start
from shared.outbox import OutboxRecord
from shared.relay import OutboxRelay
from shared.settings import Settings
from tests.helpers import wait_until
from tests.history_builder import HistoryBuilder

pytestmark = pytest.mark.integration
SOURCES = ("enterprises", "complaints", "inspections")  # scoring consumes their topics
WAIT_SECONDS = 60.0


class Stack:
    """Databases of one stack, its own topics, and a scoring app consuming them."""

    def __init__(self, broker: LocalBroker, var_dir: Path) -> None:
        self.bootstrap = broker.bootstrap
        self.settings = Settings(
            var_dir=var_dir, kafka_bootstrap_servers=broker.bootstrap, relay_poll_seconds=0.05
        )
        suffix = uuid.uuid4().hex[:8]
        self.topics: dict[str, str] = {
            s.name: f"{s.publishes}.history-{suffix}" for s in catalogue.publishers()
        }
        ensure_topics(broker.bootstrap, self.topics.values())
        self.group_id = f"integrity-scoring-history-{suffix}"
        self.scoring: RunningService | None = None

    def import_lines(self, lines: list[str]) -> tuple[ImportSummary, list[str]]:
        problems: list[str] = []
        numbered = [(f"h.jsonl:{n}", line) for n, line in enumerate(lines, start=1)]
        summary = import_lines(
            self.settings,
            numbered,
            report=lambda where, message: problems.append(f"{where}: {message}"),
            topic_of=self.topics,
            batch_size=100,
        )
        return summary, problems

    def publish(self) -> int:
        """What the source services' relays do once they run: one synchronous pass per outbox until it is
        empty. (Scoring's outbox is its running relay's.)"""
        published = 0
        for service in SOURCES:
            engine = make_engine(self.settings.database_url(service))
            relay = OutboxRelay(engine, self.bootstrap)
            try:
                while count := relay.publish_pending():
                    published += count
                with Session(engine) as session:
                    waiting = select(func.count()).where(col(OutboxRecord.published_at).is_(None))
                    assert session.execute(waiting).scalar_one() == 0, f"{service} outbox not published"
            finally:
                relay.stop()
                engine.dispose()
        return published

    def outbox_counts(self) -> dict[str, int]:
        return {service: self._count(service, OutboxRecord) for service in SOURCES}

    def _count(self, service: str, table: Any) -> int:
        engine = make_engine(self.settings.database_url(service))
        try:
            with Session(engine) as session:
                return int(session.execute(select(func.count()).select_from(table)).scalar_one())
        finally:
            engine.dispose()

    @property
    def source_topics(self) -> list[str]:
        """What scoring consumes: the sources' topics (its own carries its decisions and grades)."""
        return [self.topics[service] for service in SOURCES]

    def start_scoring(self) -> None:
        app = build_app(self.settings, group_id=self.group_id, source_topics=self.source_topics)
        self.scoring = start(app, 0)

    def caught_up(self) -> bool:
        """True when scoring has committed every partition of its topics up to the end."""
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            partitions = [
                TopicPartition(t, p)
                for t in self.source_topics
                for p in consumer.partitions_for_topic(t) or ()
            ]
            end = consumer.end_offsets(partitions)
            committed = admin.list_group_offsets(self.group_id).get(self.group_id, {})
            return bool(partitions) and all(
                end[tp] == 0 or (tp in committed and committed[tp].offset >= end[tp]) for tp in partitions
            )
        finally:
            consumer.close()
            admin.close()

    def wait_until_scored(self) -> None:
        wait_until(self.caught_up, timeout=WAIT_SECONDS, interval=0.3, message="scoring did not catch up")

    def grades(self) -> dict[str, tuple[int, int, bool]]:
        engine = make_engine(self.settings.database_url("scoring"))
        try:
            with Session(engine) as session:
                rows = session.execute(
                    select(GradeRow.uscc, GradeRow.level, GradeRow.score, GradeRow.provisional)
                )
                return {uscc: (level, score, provisional) for uscc, level, score, provisional in rows}
        finally:
            engine.dispose()

    def scored_events(self) -> int:
        return self._count("scoring", EnterpriseEventRow)

    def decisions(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every decision record with who, when and why (request ids aside: they are the API's, not the
        decision's), in a comparable form."""
        tables = {
            "appeals": AppealRow,
            "reviews": OverrideReviewRow,
            "repairs": CreditRepairRow,
            "applications": RepairApplicationRow,
            "listings": DishonestyListingRow,
        }
        engine = make_engine(self.settings.database_url("scoring"))
        try:
            with Session(engine) as session:
                return {
                    name: sorted(
                        tuple(
                            _comparable(value)
                            for column, value in row.model_dump().items()
                            if column != "request_id"
                        )
                        for row in session.exec(select_rows(table))
                    )
                    for name, table in tables.items()
                }
        finally:
            engine.dispose()

    def scoring_stub(self) -> scoring_pb2_grpc.ScoringServiceStub:
        assert self.scoring is not None
        return scoring_pb2_grpc.ScoringServiceStub(grpc.insecure_channel(self.scoring.address))

    def auth(self, role: Role, **claims: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {issue_token(self.settings, role, **claims)}"),)

    def stop(self) -> None:
        if self.scoring is not None:
            self.scoring.stop(grace=1)
            self.scoring = None


def _comparable(value: Any) -> Any:
    """Times as UTC instants (SQLite hands them back without their zone)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    return value


@pytest.fixture
def stacks(broker: LocalBroker, tmp_path: Path) -> Iterator[Any]:
    made: list[Stack] = []

    def make(name: str) -> Stack:
        made.append(Stack(broker, tmp_path / name))
        return made[-1]

    yield make
    for stack in made:
        stack.stop()


def test_a_second_import_changes_nothing_and_a_bad_line_does_not_stop_the_rest(stacks: Any) -> None:
    events = HistoryBuilder(seed=11).province(8)
    lines = [to_json_line(event) for event in events]
    middle = len(lines) // 2
    lines.insert(middle, '{"specversion": "1.0", "id": "x"}')

    stack = stacks("a")
    first, problems = stack.import_lines(lines)
    assert problems == [
        f"h.jsonl:{middle + 1}: missing CloudEvents attribute(s): source, type, subject, time"
    ]
    assert first.total_imported == len(events) and first.rejected == 1
    counts = stack.outbox_counts()
    assert sum(counts.values()) == len(events)
    assert stack.publish() == len(events)
    stack.start_scoring()
    stack.wait_until_scored()
    grades = stack.grades()
    assert set(grades) == {e.subject for e in events}
    assert stack.scored_events() == len(events)

    again, problems = stack.import_lines(lines)
    assert again.total_imported == 0 and again.already_present == len(events) and len(problems) == 1
    assert stack.outbox_counts() == counts
    assert stack.publish() == 0  # nothing new for the relays, so nothing new for scoring
    stack.wait_until_scored()
    assert stack.grades() == grades and stack.scored_events() == len(events)


def decide(stack: Stack, appellant: str, rejected: str, repaired: str, listed: str) -> None:
    """Decisions on grades through the source stack's ScoringService, as regulators, enterprises and the
    national credit system take them."""
    scoring = stack.scoring_stub()
    regulator = stack.auth(Role.REGULATOR, subject="wang.li", region="610100")

    def appeal(code: str) -> S.Appeal:
        request = S.CreateAppealRequest(
            parent=f"enterprises/{code}", appeal=S.Appeal(reason="器具已检定，请复核")
        )
        return scoring.CreateAppeal(
            request, metadata=stack.auth(Role.ENTERPRISE, uscc=code), timeout=15
        ).appeal

    accepted = S.AcceptAppealRequest(
        name=appeal(appellant).name, override_level=S.GRADE_LEVEL_A, reason="复核属实"
    )
    accepted.override_expire_time.FromDatetime(datetime.now(UTC) + timedelta(days=90))
    scoring.AcceptAppeal(accepted, metadata=regulator, timeout=15)
    review = S.ReviewAppealOverrideRequest(
        name=accepted.name, action=S.OVERRIDE_REVIEW_ACTION_SHORTEN, reason="整改期缩短"
    )
    review.override_expire_time.FromDatetime(datetime.now(UTC) + timedelta(days=60))
    scoring.ReviewAppealOverride(review, metadata=regulator, timeout=15)
    rejection = S.RejectAppealRequest(name=appeal(rejected).name, reason="证据不足")
    scoring.RejectAppeal(rejection, metadata=regulator, timeout=15)

    application = scoring.CreateCreditRepairApplication(
        S.CreateCreditRepairApplicationRequest(
            parent=f"enterprises/{repaired}",
            credit_repair_application=S.CreditRepairApplication(
                rule_code="SERIOUS_VIOLATION", commitment_letter="本企业承诺诚信计量。"
            ),
        ),
        metadata=stack.auth(Role.ENTERPRISE, uscc=repaired),
        timeout=15,
    ).credit_repair_application
    grant = S.GrantCreditRepairApplicationRequest(name=application.name, reason="整改到位，罚款已缴纳")
    scoring.GrantCreditRepairApplication(grant, metadata=regulator, timeout=15)

    listing = S.DishonestyListing(reason="伪造检定证书", decision_reference="陕市监信〔2026〕7号")
    listing.list_time.FromDatetime(datetime.now(UTC) - timedelta(days=30))
    scoring.CreateDishonestyListing(
        S.CreateDishonestyListingRequest(parent=f"enterprises/{listed}", dishonesty_listing=listing),
        metadata=stack.auth(Role.SYSTEM, subject="national-credit-system"),
        timeout=15,
    )


def test_an_exported_history_imported_into_an_empty_stack_reproduces_every_grade(stacks: Any) -> None:
    # 40 enterprises, three years of instruments, complaints and inspections, in random file order
    # within each enterprise's registration-first constraint; and four more of Xi'an's with recent
    # histories, for the decisions (one with a serious violation 400 days ago, repairable now).
    builder = HistoryBuilder(seed=23)
    builder.province(40)
    now = datetime.now(UTC)
    appellant, rejected, repaired, listed = (builder.enterprise(100 + n, "610112") for n in range(4))
    for code in (appellant, rejected):
        builder.inspection(code, now - timedelta(days=50), inspections_pb2.INSPECTION_OUTCOME_MAJOR_VIOLATION)
    builder.inspection(listed, now - timedelta(days=50), inspections_pb2.INSPECTION_OUTCOME_COMPLIANT)
    builder.inspection(
        repaired, now - timedelta(days=400), inspections_pb2.INSPECTION_OUTCOME_SERIOUS_VIOLATION
    )
    events = sorted(builder.events, key=lambda event: (event.occurred_at.ToDatetime(), event.id))
    source = stacks("source")
    summary, problems = source.import_lines([to_json_line(event) for event in events])
    assert problems == [] and summary.total_imported == len(events)
    source.publish()
    source.start_scoring()
    source.wait_until_scored()
    before = source.grades()
    decide(source, appellant, rejected, repaired, listed)
    graded = source.grades()
    assert len(graded) == 44
    assert len({level for level, _, _ in graded.values()}) >= 3, "the history should give several grades"
    # The decisions moved the grades: the override to A, the repair off D, the listing to D.
    assert graded[appellant][0] == S.GRADE_LEVEL_A != before[appellant][0]
    assert before[repaired][0] == S.GRADE_LEVEL_D != graded[repaired][0]
    assert graded[listed][0] == S.GRADE_LEVEL_D != before[listed][0]
    decisions = source.decisions()
    assert {name: len(rows) for name, rows in decisions.items()} == {
        "appeals": 2,
        "reviews": 1,
        "repairs": 1,
        "applications": 1,
        "listings": 1,
    }

    exported = io.StringIO()
    decision_count = 8  # 2 filed, 1 overridden, 1 reviewed, 1 rejected, 1 applied, 1 granted, 1 listed
    assert export_history(source.settings, exported) == len(events) + decision_count
    lines = exported.getvalue().splitlines()
    assert not any('"integrity.events.v1.GradeChanged"' in line for line in lines), "grades are recomputed"
    assert [json.loads(line)["time"] for line in lines] == sorted(json.loads(line)["time"] for line in lines)

    empty = stacks("empty")
    summary, problems = empty.import_lines(lines)
    assert problems == [] and summary.total_imported == len(events) + decision_count
    assert summary.imported["scoring"] == decision_count
    empty.publish()
    empty.start_scoring()
    empty.wait_until_scored()

    assert empty.grades() == graded
    assert empty.decisions() == decisions
