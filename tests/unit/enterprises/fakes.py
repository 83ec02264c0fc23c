"""In-memory stand-ins for the enterprises repository and unit of work (same contract, no database)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Self

from integrity.enterprises.v1 import enterprises_pb2
from services.enterprises.domain import Enterprise, EnterpriseDraft
from services.enterprises.listing import EnterpriseQuery
from services.enterprises.unit_of_work import StorageConflict
from shared.events import Event
from shared.uscc import with_check_character


class FakeEnterpriseRepository:
    def __init__(self, rows: dict[str, Enterprise]) -> None:
        self.rows = rows
        self.added: list[Enterprise] = []

    def add(self, enterprise: Enterprise) -> None:
        self.rows[enterprise.uscc] = enterprise
        self.added.append(enterprise)

    def get(self, uscc: str) -> Enterprise | None:
        return self.rows.get(uscc)

    def get_by_request_id(self, request_id: str) -> Enterprise | None:
        return next((e for e in self.rows.values() if e.request_id == request_id), None)

    def list(self, query: EnterpriseQuery, after_uscc: str | None, limit: int) -> list[Enterprise]:
        def matches(e: Enterprise) -> bool:
            return (
                query.matches_region(e.region_code)
                and query.industry_code in (None, e.industry_code)
                and query.subject_type in (None, e.subject_type)
                and query.status in (None, e.status)
                and query.uscc in (None, e.uscc)
                and (after_uscc is None or e.uscc > after_uscc)
            )

        return sorted((e for e in self.rows.values() if matches(e)), key=lambda e: e.uscc)[:limit]


@dataclass
class FakeUnitOfWork:
    """Commits copy the working set over `committed`; unique keys are enforced like the database does.

    `before_commit`, when set, runs once just before the next commit: a test uses it to let a
    concurrent writer slip in (the race that the database's unique constraints settle).
    """

    committed: dict[str, Enterprise] = field(default_factory=dict)
    published: list[tuple[str, Event]] = field(default_factory=list)
    committed_events: int = 0
    entered: int = 0
    before_commit: Callable[[FakeUnitOfWork], None] | None = None

    def __enter__(self) -> Self:
        self.entered += 1
        self.enterprises = FakeEnterpriseRepository(dict(self.committed))
        self._staged: list[tuple[str, Event]] = []
        return self

    def __exit__(self, *exc: object) -> None:
        self._staged = []

    def add_event(self, topic: str, event: Event) -> None:
        self._staged.append((topic, event))

    def commit(self) -> None:
        if self.before_commit is not None:
            hook, self.before_commit = self.before_commit, None
            hook(self)
        request_ids = {e.request_id for e in self.committed.values() if e.request_id}
        for new in self.enterprises.added:
            if new.uscc in self.committed or (new.request_id and new.request_id in request_ids):
                self._staged = []
                raise StorageConflict(f"duplicate key for {new.uscc}")
        self.committed = dict(self.enterprises.rows)
        self.enterprises.added = []
        self.published.extend(self._staged)
        self.committed_events += len(self._staged)
        self._staged = []


# --- sample data ------------------------------------------------------------------------------------


def make_uscc(serial: int, region: str = "610112") -> str:
    """A valid USCC of a company (91) registered in `region`."""
    return with_check_character(f"91{region}{serial:09d}")


def make_draft(**changes: object) -> EnterpriseDraft:
    fields: dict[str, object] = {
        "uscc": make_uscc(1),
        "display_name": "西安市某某加油站有限公司",
        "region_code": "610112",
        "industry_code": "5265",
        "subject_type": enterprises_pb2.SUBJECT_TYPE_TRADE_INSTRUMENT_USER,
        "size_class": enterprises_pb2.SIZE_CLASS_SMALL,
        "registered_date": "2015-06-30",
    }
    fields.update(changes)
    return EnterpriseDraft(**fields)  # type: ignore[arg-type]
