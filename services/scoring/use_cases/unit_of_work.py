"""The unit of work scoring's use cases need: a repository per aggregate, the outbox, one transaction.

The SQL unit of work (`adapters/unit_of_work.py`) and the in-memory fake of the unit tests
(`tests/unit/scoring/fakes.py`) both provide it. Entering it opens a transaction; nothing is written
unless `commit()` is called. It can be entered again after it was left (a recompute commits batch by
batch in one).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol, Self

from services.scoring.domain.appeals import Appeal, OverrideReview
from services.scoring.domain.decisions import DecisionCursor, DecisionQuery
from services.scoring.domain.dishonesty import DishonestyListing
from services.scoring.domain.grades import Grade, GradeChange
from services.scoring.domain.history import HistoryEntry, ProjectedEnterprise
from services.scoring.domain.repairs import CreditRepair, RepairApplication
from services.scoring.domain.risk_list import RiskFilter
from services.scoring.domain.summary import GradeChangeItem
from shared.events import Event


class EnterpriseRepository(Protocol):
    """The enterprise projection: what scoring knows of each registered enterprise."""

    def get(self, uscc: str) -> ProjectedEnterprise | None: ...

    def add(self, enterprise: ProjectedEnterprise) -> None: ...

    def save(self, enterprise: ProjectedEnterprise) -> None:
        """Replaces the stored enterprise (read in this transaction) with the same USCC."""
        ...

    def get_many(self, usccs: Sequence[str]) -> dict[str, ProjectedEnterprise]:
        """Those of `usccs` that are projected."""
        ...

    def put_many(self, added: Sequence[ProjectedEnterprise], saved: Sequence[ProjectedEnterprise]) -> None:
        """Adds `added` and replaces `saved` (each read in this transaction)."""
        ...

    def region_code_of(self, uscc: str) -> str | None:
        """The projected enterprise's region code, None when not projected (yet)."""
        ...

    def region_codes_of(self, usccs: Sequence[str]) -> dict[str, str]:
        """uscc -> region code of those of `usccs` that are projected."""
        ...

    def usccs(self) -> list[str]:
        """Every projected enterprise, in USCC order."""
        ...


class HistoryRepository(Protocol):
    """Each enterprise's source events, kept whole so its grade can be computed as of any date."""

    def add(self, event: Event, kind: str, occurred_at: datetime) -> bool:
        """Keeps the event in its subject's history; False when it is there already (a duplicate)."""
        ...

    def entries(self, uscc: str) -> list[HistoryEntry]:
        """The enterprise's events in time order (event id as tie-breaker)."""
        ...

    def events(self, uscc: str) -> list[Event]:
        """The same, the events alone."""
        ...

    def entries_of(self, usccs: Sequence[str]) -> dict[str, list[HistoryEntry]]:
        """`entries` of those of `usccs` that have events."""
        ...

    def present(self, event_ids: Sequence[str]) -> set[str]:
        """Those of `event_ids` in the history (of any enterprise)."""
        ...

    def add_many(self, entries: Sequence[tuple[str, str, HistoryEntry]]) -> None:
        """Keeps each (uscc, kind, entry, with its level after) of events not in the history yet."""
        ...

    def events_of(self, usccs: Sequence[str]) -> dict[str, list[Event]]:
        """The histories of those of `usccs` that have events, each in time order."""
        ...

    def set_levels_after(self, levels: dict[str, int]) -> None:
        """Stores the grade level after each given event (event id -> GradeLevel number)."""
        ...


class GradeRepository(Protocol):
    """Current grades, every grade an enterprise has had, and the risk lists they make."""

    def get(self, uscc: str) -> Grade | None: ...

    def get_many(self, usccs: Sequence[str]) -> dict[str, Grade]:
        """The current grades of those of `usccs` that have one."""
        ...

    def save(self, changes: Sequence[GradeChange], cause_event_id: str, recorded_at: datetime) -> None:
        """Makes each change's grade current and appends it to the grade history. Each `previous` must be
        the enterprise's current grade as read in this transaction (None: it has none)."""
        ...

    def save_batch(
        self,
        recorded: Sequence[tuple[GradeChange, str, datetime]],
        final: Mapping[str, tuple[Grade, datetime | None]],
        stored: Collection[str],
    ) -> None:
        """A batch's grades: appends `recorded` (change, cause event id, recorded at) to the grade history
        in order, and makes each grade of `final` current (with when it was saved; None: only its as_of
        moved). `stored`: the enterprises that had a current grade before."""
        ...

    def lock(self, uscc: str) -> None:
        """Holds the enterprise's grade until the transaction ends: a decision that regrades it (a credit
        repair) takes this before it reads the history, so two at once run one after the other and the
        second sees what the first changed."""
        ...

    def touch(self, as_of_by_uscc: dict[str, datetime]) -> None:
        """Moves the as_of of the given enterprises' current grades (nothing else changed)."""
        ...

    def move_as_of(self, usccs: Sequence[str], as_of: datetime) -> None:
        """`touch` with one as_of for all of `usccs` (a recompute: one statement, not one row each)."""
        ...

    def level_counts(self, risk_filter: RiskFilter, prefix_length: int) -> list[tuple[str, int, bool, int]]:
        """(region code prefix of `prefix_length` digits, level, provisional, how many) of current grades
        matching the filter's region, industry and subject type."""
        ...

    def monthly_level_deltas(self, risk_filter: RiskFilter) -> list[tuple[str, int | None, int, int]]:
        """(month "YYYY-MM" of as_of, previous level, level, how many) of history rows that set a level."""
        ...

    def level_changes_since(self, risk_filter: RiskFilter, since: datetime) -> list[tuple[int, int, int]]:
        """(previous level, level, how many) of the level changes as of `since` or later."""
        ...

    def latest_level_changes(
        self, risk_filter: RiskFilter, since: datetime, limit: int
    ) -> list[GradeChangeItem]:
        """The newest level changes as of `since` or later, newest first."""
        ...

    def history(
        self, uscc: str, limit: int, after_id: int | None
    ) -> list[tuple[int, Grade, int | None, datetime]]:
        """(row id, grade, previous level, recorded at) of the enterprise's grades in the order recorded."""
        ...


class AppealRepository(Protocol):
    def get(self, appeal_id: str) -> Appeal | None:
        """The appeal with its override reviews."""
        ...

    def by_request_id(self, uscc: str, request_id: str) -> Appeal | None: ...

    def pending_of(self, uscc: str) -> Appeal | None:
        """The enterprise's pending appeal, if it has one."""
        ...

    def add(self, appeal: Appeal) -> None: ...

    def save(self, appeal: Appeal, expected_state: str, expected_expire_at: datetime | None = None) -> bool:
        """Replaces the stored appeal with the same id while its stored state is `expected_state` and, when
        given, its override ends at `expected_expire_at` (the guard against a concurrent decision or review);
        False when another transaction changed it first. Its reviews are added with add_review."""
        ...

    def add_review(self, appeal_id: str, review: OverrideReview) -> None: ...

    def list(
        self, query: DecisionQuery, now: datetime, limit: int, after: DecisionCursor | None
    ) -> list[Appeal]:
        """Up to `limit` appeals matching `query` (`active`: the override holds at `now`) after `after`,
        oldest first (filing time, then id)."""
        ...


class CreditRepairRepository(Protocol):
    def get(self, repair_id: str) -> CreditRepair | None: ...

    def by_request_id(self, uscc: str, request_id: str) -> CreditRepair | None: ...

    def add(self, repair: CreditRepair) -> None: ...


class RepairApplicationRepository(Protocol):
    def get(self, application_id: str) -> RepairApplication | None: ...

    def by_request_id(self, uscc: str, request_id: str) -> RepairApplication | None: ...

    def pending_of(self, uscc: str, rule_code: str) -> RepairApplication | None:
        """The enterprise's pending application for `rule_code`, if it has one."""
        ...

    def add(self, application: RepairApplication) -> None: ...

    def save(self, application: RepairApplication, expected_state: str) -> bool:
        """Writes the decided application while its stored state is `expected_state` (PENDING); False when
        another transaction decided it first."""
        ...

    def list(self, query: DecisionQuery, limit: int, after: DecisionCursor | None) -> list[RepairApplication]:
        """Up to `limit` applications matching `query` after `after`, oldest first."""
        ...


class DishonestyListingRepository(Protocol):
    def get(self, listing_id: str) -> DishonestyListing | None: ...

    def by_request_id(self, uscc: str, request_id: str) -> DishonestyListing | None: ...

    def active_of(self, uscc: str) -> DishonestyListing | None:
        """The enterprise's listing that has not been removed, if it has one."""
        ...

    def add(self, listing: DishonestyListing) -> None: ...

    def save(self, listing: DishonestyListing) -> bool:
        """Writes the removal while the stored listing is still active; False when another transaction
        removed it first."""
        ...

    def list(self, query: DecisionQuery, limit: int, after: DecisionCursor | None) -> list[DishonestyListing]:
        """Up to `limit` listings matching `query` after `after`, oldest first (effective time, then id)."""
        ...


class ScoringUoW(Protocol):
    enterprises: EnterpriseRepository
    history: HistoryRepository
    grades: GradeRepository
    appeals: AppealRepository
    repairs: CreditRepairRepository
    applications: RepairApplicationRepository
    listings: DishonestyListingRepository
    # Events committed over this object's life, so the caller knows to wake the outbox relay.
    committed_events: int

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def add_event(self, topic: str, event: Event) -> None: ...

    def add_events(
        self, topic: str, events: Sequence[Event], trace_contexts: Sequence[str | None] | None = None
    ) -> None:
        """Many events in one statement (a recompute stages thousands), each with its own trace context
        of `trace_contexts` when given."""
        ...

    def trace_context(self) -> str | None:
        """The trace an event staged now belongs to (None outside one), for a batch that writes later."""
        ...

    def present_event_ids(self, event_ids: Collection[str]) -> set[str]:
        """Those of `event_ids` already in the outbox (an import skips them)."""
        ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...
