"""In-memory stand-ins for the registry's repositories and unit of work: the contract of the SQL unit of work
(`services/enterprises/adapters/unit_of_work.py`), without a database."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Self

from integrity.enterprises.v1 import enterprises_pb2
from services.enterprises.domain.declarations import CapabilityDeclaration, Commitment
from services.enterprises.domain.enterprise import Enterprise, EnterpriseDraft, EnterpriseQuery
from services.enterprises.domain.instruments import Instrument, Verification
from shared.errors import StorageConflict
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

    def replace(self, enterprise: Enterprise, expected_etag: str) -> bool:
        stored = self.rows.get(enterprise.uscc)
        if stored is None or stored.etag != expected_etag:
            return False
        self.rows[enterprise.uscc] = enterprise
        return True

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


class FakeInstrumentRepository:
    def __init__(self, rows: dict[str, Instrument], history: list[tuple[str, Verification]]) -> None:
        self.rows = rows
        self.history = history

    def add(self, instrument: Instrument) -> None:
        self.rows[instrument.instrument_id] = instrument

    def get(self, uscc: str, instrument_id: str) -> Instrument | None:
        found = self.rows.get(instrument_id)
        return found if found is not None and found.uscc == uscc else None

    def get_by_request_id(self, request_id: str) -> Instrument | None:
        return next((i for i in self.rows.values() if i.request_id == request_id), None)

    def find_serial(self, uscc: str, instrument_type: int, serial_number: str) -> Instrument | None:
        key = (uscc, instrument_type, serial_number)
        return next((i for i in self.rows.values() if (i.uscc, i.type, i.serial_number) == key), None)

    def list(self, uscc: str, after_id: str | None, limit: int) -> list[Instrument]:
        mine = (
            i
            for i in self.rows.values()
            if i.uscc == uscc and (after_id is None or i.instrument_id > after_id)
        )
        return sorted(mine, key=lambda i: i.instrument_id)[:limit]

    def verifications(self, instrument_ids: list[str]) -> dict[str, list[Verification]]:
        return {i: [v for owner, v in self.history if owner == i] for i in instrument_ids}

    def add_verification(self, instrument_id: str, verification: Verification, at: datetime) -> None:
        self.history.append((instrument_id, verification))


class FakeDeclarationRepository:
    def __init__(
        self, commitments: dict[str, Commitment], capabilities: dict[str, CapabilityDeclaration]
    ) -> None:
        self.commitments = commitments
        self.capabilities = capabilities

    def add_commitment(self, commitment: Commitment) -> None:
        self.commitments[commitment.commitment_id] = commitment

    def get_commitment(self, uscc: str, commitment_id: str) -> Commitment | None:
        found = self.commitments.get(commitment_id)
        return found if found is not None and found.uscc == uscc else None

    def save_commitment(self, commitment: Commitment) -> bool:
        stored = self.commitments.get(commitment.commitment_id)
        if stored is not None and stored.withdraw_time is not None:
            return False
        self.commitments[commitment.commitment_id] = commitment
        return True

    def add_capability(self, declaration: CapabilityDeclaration) -> None:
        self.capabilities[declaration.declaration_id] = declaration

    def get_capability(self, uscc: str, declaration_id: str) -> CapabilityDeclaration | None:
        found = self.capabilities.get(declaration_id)
        return found if found is not None and found.uscc == uscc else None

    def commitment_by_request_id(self, request_id: str) -> Commitment | None:
        return next((c for c in self.commitments.values() if c.request_id == request_id), None)

    def capability_by_request_id(self, request_id: str) -> CapabilityDeclaration | None:
        return next((d for d in self.capabilities.values() if d.request_id == request_id), None)

    def by_public_code(self, code: str) -> Commitment | CapabilityDeclaration | None:
        everything = [*self.commitments.values(), *self.capabilities.values()]
        return next((d for d in everything if d.public_code == code), None)


@dataclass
class FakeUnitOfWork:
    """Commits copy the working set over `committed`; unique keys are enforced like the database does.

    `before_commit`, when set, runs once just before the next commit: a test uses it to let a
    concurrent writer slip in (the race that the database's unique constraints settle).
    """

    committed: dict[str, Enterprise] = field(default_factory=dict)
    committed_instruments: dict[str, Instrument] = field(default_factory=dict)
    committed_verifications: list[tuple[str, Verification]] = field(default_factory=list)
    committed_commitments: dict[str, Commitment] = field(default_factory=dict)
    committed_capabilities: dict[str, CapabilityDeclaration] = field(default_factory=dict)
    published: list[tuple[str, Event]] = field(default_factory=list)
    committed_events: int = 0
    entered: int = 0
    before_commit: Callable[[FakeUnitOfWork], None] | None = None

    def __enter__(self) -> Self:
        self.entered += 1
        self._open()
        return self

    def _open(self) -> None:
        """A working set copied from what is committed."""
        self.enterprises = FakeEnterpriseRepository(dict(self.committed))
        self.instruments = FakeInstrumentRepository(
            dict(self.committed_instruments), list(self.committed_verifications)
        )
        self.declarations = FakeDeclarationRepository(
            dict(self.committed_commitments), dict(self.committed_capabilities)
        )
        self._staged: list[tuple[str, Event]] = []

    def __exit__(self, *exc: object) -> None:
        self._staged = []

    def add_event(self, topic: str, event: Event) -> None:
        self._staged.append((topic, event))

    def add_events(self, topic: str, events: Sequence[Event]) -> None:
        self._staged.extend((topic, event) for event in events)

    def present_event_ids(self, event_ids: Collection[str]) -> set[str]:
        present = {event.id for _, event in [*self.published, *self._staged]}
        return present.intersection(event_ids)

    def batched_writes(self) -> AbstractContextManager[object]:
        return nullcontext()  # reads here always see the writes

    def rollback(self) -> None:
        self._open()

    def commit(self) -> None:
        if self.before_commit is not None:
            hook, self.before_commit = self.before_commit, None
            hook(self)
        request_ids = {e.request_id for e in self.committed.values() if e.request_id}
        for new in self.enterprises.added:
            if new.uscc in self.committed or (new.request_id and new.request_id in request_ids):
                self._staged = []
                raise StorageConflict(f"duplicate key for {new.uscc}")
        serials = [(i.uscc, i.type, i.serial_number) for i in self.instruments.rows.values()]
        if len(serials) != len(set(serials)):
            self._staged = []
            raise StorageConflict("duplicate instrument serial number")
        declared = [*self.declarations.commitments.values(), *self.declarations.capabilities.values()]
        if len({d.public_code for d in declared}) != len(declared):
            self._staged = []
            raise StorageConflict("duplicate public code")
        self.committed = dict(self.enterprises.rows)
        self.committed_instruments = dict(self.instruments.rows)
        self.committed_verifications = list(self.instruments.history)
        self.committed_commitments = dict(self.declarations.commitments)
        self.committed_capabilities = dict(self.declarations.capabilities)
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
