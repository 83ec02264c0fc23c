"""The handler of the events scoring consumes (enterprises, complaints, inspections): each one is ingested.

It runs in the consumer's transaction (shared.consumer.EventConsumer, one per poll batch), in the scoring
unit of work the consumer opened for it: what ingest writes, the processed-event mark and any GradeChanged
outbox row commit together or not at all. The consumer hands it each poll batch whole (`handle_batch`:
a few queries and one write per table for the batch); calling it with one event is the per-event path the
consumer falls back to when a batch fails as a whole.
"""

from __future__ import annotations

from datetime import UTC, datetime

from services.scoring.adapters.metrics import observe_event_to_grade
from services.scoring.domain.policy import Policy
from services.scoring.use_cases.ingest import ingest
from services.scoring.use_cases.ingest_batch import ingest_batch
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.consumer_batch import BatchItem
from shared.events import Event


class ScoringEventHandler:
    """An EventHandler (unit of work, event, topic) for the scoring consumer group."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def __call__(self, uow: ScoringUoW, event: Event, topic: str) -> None:
        ingest(uow, self.policy, event)
        observe_event_to_grade(event)

    def handle_batch(self, uow: ScoringUoW, batch: list[BatchItem]) -> None:
        """A shared.consumer_batch.BatchHandler: each event ingested in its record's processing span."""
        ingest_batch(uow, self.policy, [item.event for item in batch], [item.span for item in batch])
        graded = datetime.now(UTC)  # every event of the batch is graded by now
        for item in batch:
            observe_event_to_grade(item.event, graded)
