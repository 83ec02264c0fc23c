"""The SQL unit of work of scoring: its repositories on one session, and the outbox rows (GradeChanged,
the events of the decisions on grades) that commit with the state they describe."""

from __future__ import annotations

from services.scoring.adapters.decision_repository import (
    SqlAppealRepository,
    SqlCreditRepairRepository,
    SqlDishonestyListingRepository,
    SqlRepairApplicationRepository,
)
from services.scoring.adapters.grade_repository import SqlGradeRepository
from services.scoring.adapters.repository import SqlEnterpriseRepository, SqlHistoryRepository
from shared.db import make_engine
from shared.unit_of_work import OutboxUnitOfWork


class ScoringUnitOfWork(OutboxUnitOfWork):
    enterprises: SqlEnterpriseRepository
    history: SqlHistoryRepository
    grades: SqlGradeRepository
    appeals: SqlAppealRepository
    repairs: SqlCreditRepairRepository
    applications: SqlRepairApplicationRepository
    listings: SqlDishonestyListingRepository

    def _open_repositories(self) -> None:
        self.enterprises = SqlEnterpriseRepository(self.session)
        self.history = SqlHistoryRepository(self.session)
        self.grades = SqlGradeRepository(self.session)
        self.appeals = SqlAppealRepository(self.session)
        self.repairs = SqlCreditRepairRepository(self.session)
        self.applications = SqlRepairApplicationRepository(self.session)
        self.listings = SqlDishonestyListingRepository(self.session)


def open_unit_of_work(database_url: str) -> ScoringUnitOfWork:
    """A unit of work on an engine of its own: what each process of a recompute over several opens
    (`functools.partial(open_unit_of_work, url)` pickles; an engine does not)."""
    return ScoringUnitOfWork(make_engine(database_url))
