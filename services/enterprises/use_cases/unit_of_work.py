"""What the registry's use cases need of storage: its repositories and outbox in one transaction.

The SQL unit of work (`adapters/unit_of_work.py`) and the in-memory fake of the unit tests both provide it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol, Self

from services.enterprises.domain.declarations import CapabilityDeclaration, Commitment
from services.enterprises.domain.enterprise import Enterprise, EnterpriseQuery
from services.enterprises.domain.instruments import Instrument, Verification
from shared.events import Event


class EnterpriseRepository(Protocol):
    def add(self, enterprise: Enterprise) -> None: ...

    def get(self, uscc: str) -> Enterprise | None: ...

    def get_by_request_id(self, request_id: str) -> Enterprise | None: ...

    def replace(self, enterprise: Enterprise, expected_etag: str) -> bool:
        """Stores `enterprise` if the stored one (or the one this transaction added) still has
        `expected_etag`; False if it changed since."""
        ...

    def list(self, query: EnterpriseQuery, after_uscc: str | None, limit: int) -> list[Enterprise]:
        """Up to `limit` matches in USCC order, those after `after_uscc` (keyset pagination)."""
        ...


class InstrumentRepository(Protocol):
    def add(self, instrument: Instrument) -> None: ...

    def get(self, uscc: str, instrument_id: str) -> Instrument | None: ...

    def find_serial(self, uscc: str, instrument_type: int, serial_number: str) -> Instrument | None: ...

    def get_by_request_id(self, request_id: str) -> Instrument | None: ...

    def list(self, uscc: str, after_id: str | None, limit: int) -> list[Instrument]:
        """Up to `limit` of the enterprise's instruments in id order, those after `after_id`."""
        ...

    def verifications(self, instrument_ids: list[str]) -> dict[str, list[Verification]]:
        """Each instrument's verifications in the order recorded."""
        ...

    def add_verification(
        self, instrument_id: str, verification: Verification, recorded_at: datetime
    ) -> None: ...


class DeclarationRepository(Protocol):
    def add_commitment(self, commitment: Commitment) -> None: ...

    def get_commitment(self, uscc: str, commitment_id: str) -> Commitment | None: ...

    def save_commitment(self, commitment: Commitment) -> bool:
        """Stores a withdrawn commitment (one this transaction added, too) while the stored one is not
        withdrawn yet; False when another transaction withdrew it first."""
        ...

    def add_capability(self, declaration: CapabilityDeclaration) -> None: ...

    def get_capability(self, uscc: str, declaration_id: str) -> CapabilityDeclaration | None: ...

    def by_public_code(self, code: str) -> Commitment | CapabilityDeclaration | None: ...

    def commitments_of(self, uscc: str, offset: int, limit: int) -> list[Commitment]:
        """The enterprise's commitments, newest first, from `offset` on."""
        ...

    def capabilities_of(self, uscc: str, offset: int, limit: int) -> list[CapabilityDeclaration]:
        """The enterprise's capability declarations, newest first, from `offset` on."""
        ...

    def commitment_by_request_id(self, request_id: str) -> Commitment | None: ...

    def capability_by_request_id(self, request_id: str) -> CapabilityDeclaration | None: ...


class EnterprisesUoW(Protocol):
    """One transaction over the registry: its repositories, and the events it stages in the outbox."""

    enterprises: EnterpriseRepository
    instruments: InstrumentRepository
    declarations: DeclarationRepository
    # Events committed over this object's life, so the caller knows to wake the outbox relay.
    committed_events: int

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...

    def add_event(self, topic: str, event: Event) -> None: ...

    def add_events(self, topic: str, events: Sequence[Event]) -> None:
        """Many events at once (an import stages thousands)."""
        ...

    def present_event_ids(self, event_ids: Collection[str]) -> set[str]:
        """Those of `event_ids` already in the outbox."""
        ...

    def batched_writes(self) -> AbstractContextManager[object]:
        """A block whose writes reach the database together at the next flush or commit, rather than
        before each read: reads inside it need not see them, so the caller keeps track of what it wrote
        (an import's batch does, and saves a round of writes per line)."""
        ...

    def commit(self) -> None:
        """Commits; raises StorageConflict when a unique constraint refuses the write."""
        ...
