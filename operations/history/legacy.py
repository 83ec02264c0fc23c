"""Interim: the import rules of the three source services as they stood before each service took its own
(`services/<name>/use_cases/history.py`). Each function is a `HistoryRules.stage` use case."""

from __future__ import annotations

from collections.abc import Sequence

from operations.history.store import EnterpriseStore
from operations.history.validation import check_rules
from services.enterprises.unit_of_work import EnterprisesUnitOfWork
from shared.events import Event
from shared.history_import import ImportingUnitOfWork, ImportOutcome, stage_events


def stage_enterprises(uow: EnterprisesUnitOfWork, events: Sequence[Event], topic: str) -> list[ImportOutcome]:
    store = EnterpriseStore(uow)

    def apply(event: Event) -> None:
        check_rules(event)
        store.apply(event)

    return stage_events(uow, events, topic, apply)


def stage_checked(uow: ImportingUnitOfWork, events: Sequence[Event], topic: str) -> list[ImportOutcome]:
    return stage_events(uow, events, topic, check_rules)
