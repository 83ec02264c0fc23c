"""History import on a real broker: the imported events reach scoring through the services' own outbox
relays, a second import changes nothing, and an exported history imported into an empty stack grades
every enterprise the same.

Each stack gets topics of its own (the importer's `topic_of`), so neither sees the other's events.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from sqlalchemy import func, select
from sqlmodel import Session, col

from operations import catalogue
from operations.broker import LocalBroker, ensure_topics
from operations.history.exporter import export_history
from operations.history.importer import ImportSummary, import_lines
from services.scoring.adapters.tables import EnterpriseEventRow, GradeRow
from services.scoring.bootstrap import build_app
from shared.cloudevents import to_json_line
from shared.db import make_engine
from shared.grpc_server import RunningService, start
from shared.outbox import OutboxRecord
from shared.relay import OutboxRelay
from shared.settings import Settings
from tests.helpers import wait_until
from tests.history_builder import HistoryBuilder

pytestmark = pytest.mark.integration
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
        """What the services' relays do once they run: one synchronous pass per outbox until it is empty."""
        published = 0
        for service in [s.name for s in catalogue.publishers()]:
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
        return {
            service: self._count(service, OutboxRecord)
            for service in [s.name for s in catalogue.publishers()]
        }

    def _count(self, service: str, table: Any) -> int:
        engine = make_engine(self.settings.database_url(service))
        try:
            with Session(engine) as session:
                return int(session.execute(select(func.count()).select_from(table)).scalar_one())
        finally:
            engine.dispose()

    def start_scoring(self) -> None:
        app = build_app(self.settings, group_id=self.group_id, source_topics=list(self.topics.values()))
        self.scoring = start(app, 0)

    def caught_up(self) -> bool:
        """True when scoring has committed every partition of its topics up to the end."""
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap, enable_auto_commit=False)
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            partitions = [
                TopicPartition(t, p)
                for t in self.topics.values()
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

    def stop(self) -> None:
        if self.scoring is not None:
            self.scoring.stop(grace=1)
            self.scoring = None


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


def test_an_exported_history_imported_into_an_empty_stack_reproduces_every_grade(stacks: Any) -> None:
    # 40 enterprises, three years of instruments, complaints and inspections, in random file order
    # within each enterprise's registration-first constraint.
    events = HistoryBuilder(seed=23).province(40)
    source = stacks("source")
    summary, problems = source.import_lines([to_json_line(event) for event in events])
    assert problems == [] and summary.total_imported == len(events)
    source.publish()
    source.start_scoring()
    source.wait_until_scored()
    graded = source.grades()
    assert len(graded) == 40
    assert len({level for level, _, _ in graded.values()}) >= 3, "the history should give several grades"

    exported = io.StringIO()
    assert export_history(source.settings, exported) == len(events)

    empty = stacks("empty")
    summary, problems = empty.import_lines(exported.getvalue().splitlines())
    assert problems == [] and summary.total_imported == len(events)
    empty.publish()
    empty.start_scoring()
    empty.wait_until_scored()

    assert empty.grades() == graded
