"""The handler of the events scoring consumes (enterprises, complaints, inspections): each one is ingested.

It runs in the consumer's transaction (shared.consumer.EventConsumer, one per poll batch), in the scoring
unit of work the consumer opened for it: what ingest writes, the processed-event mark and any GradeChanged
outbox row commit together or not at all.
"""

from __future__ import annotations

from services.scoring.adapters.metrics import observe_event_to_grade
from services.scoring.domain.policy import Policy
from services.scoring.use_cases.ingest import ingest
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.events import Event


class ScoringEventHandler:
    """An EventHandler (unit of work, event, topic) for the scoring consumer group."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def __call__(self, uow: ScoringUoW, event: Event, topic: str) -> None:
        ingest(uow, self.policy, event)
        observe_event_to_grade(event)
