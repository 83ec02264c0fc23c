"""Importing the registry's events from a legacy history (`integrity import`), by the rules of its API.

An imported history must leave the registry as if the events had happened through the API: GetEnterprise,
ListInstruments and LookupPublicCode read what the import writes. Each event is checked by the domain's
own rules, so a refused line is reported in the words the API uses for the same mistake; every rule that
needs stored state (the enterprise exists and is not deregistered, a serial number is not taken twice) is
checked before anything is written, so a refused event leaves the transaction as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from services.enterprises.adapters.mapping import (
    capability_draft_from_proto,
    commitment_draft_from_proto,
    draft_from_proto,
    instrument_draft_from_proto,
    verification_draft_from_proto,
)
from services.enterprises.domain import declarations, instruments
from services.enterprises.domain.declarations import Commitment
from services.enterprises.domain.enterprise import (
    ACTIVE,
    Enterprise,
    Registration,
    enterprise_name,
    register,
    require_active,
    restate,
    validate_state,
)
from services.enterprises.domain.instruments import Instrument
from services.enterprises.domain.values import china_date, china_today
from services.enterprises.use_cases.declarations import public_code
from services.enterprises.use_cases.unit_of_work import EnterprisesUoW
from shared.errors import FieldViolation, already_exists, concurrent_change, invalid_argument, not_found
from shared.events import Event
from shared.history_import import ImportOutcome, stage_events


def stage_history(
    uow: EnterprisesUoW, events: Sequence[Event], topic: str, *, today: date | None = None
) -> list[ImportOutcome]:
    """Each event's outcome, in order: checked by the registry's rules and written to the registry in the
    open unit of work `uow`, and staged in its outbox under `topic` when accepted (`HistoryRules.stage`).
    The caller commits, or rolls back for a dry run."""
    return stage_events(uow, events, topic, _Batch(uow, today or china_today()).apply)


def _same_subject(event: Event, uscc: str, field: str) -> None:
    if uscc != event.subject:
        raise invalid_argument(
            [FieldViolation(field, f"names {uscc!r} but the event subject is {event.subject}")]
        )


class _Batch:
    """One batch of imported events in one transaction.

    What the batch has read or written is kept here, so the enterprise or instrument of every verification
    (most of an import's lines) is looked up once, and the registry's writes reach the database together.
    """

    def __init__(self, uow: EnterprisesUoW, today: date) -> None:
        self.uow = uow
        self.today = today
        self._enterprises: dict[str, Enterprise | None] = {}
        self._instruments: dict[tuple[str, str], Instrument | None] = {}
        self._serials: set[tuple[str, int, str]] = set()
        self._commitments: dict[tuple[str, str], Commitment] = {}
        self._declared: set[str] = set()  # commitment and capability declaration ids
        self._codes: set[str] = set()  # their public codes

    def apply(self, event: Event) -> None:
        """Checks `event` and writes it to the registry; IntegrityError, with nothing written, if refused."""
        kind = event.WhichOneof("payload")
        assert kind is not None  # the envelope was validated
        occurred = event.occurred_at.ToDatetime(tzinfo=UTC)
        with self.uow.batched_writes():
            _APPLY[kind](self, getattr(event, kind), event, occurred)

    # --- lookups, each once per batch ---------------------------------------------------------------

    def _enterprise(self, uscc: str) -> Enterprise | None:
        if uscc not in self._enterprises:
            self._enterprises[uscc] = self.uow.enterprises.get(uscc)
        return self._enterprises[uscc]

    def _existing(self, uscc: str) -> Enterprise:
        enterprise = self._enterprise(uscc)
        if enterprise is None:
            raise not_found(enterprise_name(uscc))
        return enterprise

    def _instrument(self, uscc: str, instrument_id: str) -> Instrument | None:
        key = (uscc, instrument_id)
        if key not in self._instruments:
            self._instruments[key] = self.uow.instruments.get(uscc, instrument_id)
        return self._instruments[key]

    def _public_code(self, kind: str, printed: str) -> str:
        code = public_code(self.uow, kind, printed, self._codes)
        self._codes.add(code)
        return code

    # --- the enterprise itself ----------------------------------------------------------------------

    def _registration(self, event: Event, message: enterprises_pb2.Enterprise) -> Registration:
        registration = validate_state(
            draft_from_proto(message), message.status, status_required=False, today=self.today
        )
        _same_subject(event, message.uscc, "enterprise.uscc")
        return registration

    def enterprise_registered(
        self, payload: events_pb2.EnterpriseRegistered, event: Event, occurred: datetime
    ) -> None:
        registration = self._registration(event, payload.enterprise)
        if self._enterprise(registration.uscc) is not None:
            raise already_exists(enterprise_name(registration.uscc), "it was registered before")
        enterprise = register(registration, occurred, status=payload.enterprise.status or ACTIVE)
        self.uow.enterprises.add(enterprise)
        self._enterprises[enterprise.uscc] = enterprise

    def enterprise_updated(
        self,
        payload: events_pb2.EnterpriseUpdated | events_pb2.EnterpriseStatusChanged,
        event: Event,
        occurred: datetime,
    ) -> None:
        registration = self._registration(event, payload.enterprise)
        status = payload.enterprise.status
        if isinstance(payload, events_pb2.EnterpriseStatusChanged) and not status:
            raise invalid_argument(
                [FieldViolation("enterprise.status", "is required, the status after the change")]
            )
        current = self._existing(event.subject)
        if occurred < current.update_time:
            return  # older than the stored state: it joins the history, the registry keeps the newer
        updated = restate(current, registration, status or current.status, occurred)
        self.uow.enterprises.replace(updated, current.etag)
        self._enterprises[updated.uscc] = updated

    # --- instruments --------------------------------------------------------------------------------

    def instrument_registered(
        self, payload: events_pb2.InstrumentRegistered, event: Event, occurred: datetime
    ) -> None:
        message = payload.instrument
        uscc, instrument_id = instruments.parse_instrument_name(message.name, "instrument.name")
        _same_subject(event, uscc, "instrument.name")
        draft = instruments.validate_instrument(instrument_draft_from_proto(message))
        require_active(self._existing(uscc), "register instruments")
        if self._instrument(uscc, instrument_id) is not None:
            raise already_exists(message.name)
        serial = (uscc, draft.type, draft.serial_number)
        existing = self.uow.instruments.find_serial(*serial)
        if existing is not None or serial in self._serials:
            raise instruments.duplicate_serial(uscc, existing)
        instrument = instruments.new_instrument(uscc, draft, instrument_id, occurred)
        self.uow.instruments.add(instrument)
        self._instruments[(uscc, instrument_id)] = instrument
        self._serials.add(serial)

    def verification_recorded(
        self, payload: events_pb2.VerificationRecorded, event: Event, occurred: datetime
    ) -> None:
        uscc, instrument_id = instruments.parse_instrument_name(payload.instrument, "instrument")
        _same_subject(event, uscc, "instrument")
        if (problem := instruments.type_problem(payload.instrument_type)) is not None:
            raise invalid_argument([FieldViolation("instrument_type", problem)])
        draft = verification_draft_from_proto(payload.verification)
        checked = instruments.validate_verification(draft, self.today)
        instrument = self._instrument(uscc, instrument_id)
        if instrument is None:
            raise not_found(payload.instrument)
        recorded = event.recorded_at.ToDatetime(tzinfo=UTC) if event.HasField("recorded_at") else occurred
        # Due after the registered instrument's cycle, unless the verification says otherwise.
        self.uow.instruments.add_verification(instrument_id, checked.of(instrument.type), recorded)

    # --- self-declarations --------------------------------------------------------------------------

    def commitment_declared(
        self, payload: events_pb2.CommitmentDeclared, event: Event, occurred: datetime
    ) -> None:
        message = payload.commitment
        uscc, commitment_id = declarations.parse_commitment_name(message.name, "commitment.name")
        _same_subject(event, uscc, "commitment.name")
        # valid_from may not precede the day it was declared: the API's rule, on that day.
        valid = declarations.validate_commitment(commitment_draft_from_proto(message), china_date(occurred))
        require_active(self._existing(uscc), "declare")
        if commitment_id in self._declared or self.uow.declarations.get_commitment(uscc, commitment_id):
            raise already_exists(message.name)
        code = self._public_code(declarations.COMMITMENT_CODE, message.public_code)
        commitment = declarations.new_commitment(uscc, valid, commitment_id, code, occurred)
        self.uow.declarations.add_commitment(commitment)
        self._commitments[(uscc, commitment_id)] = commitment
        self._declared.add(commitment_id)

    def commitment_withdrawn(
        self, payload: events_pb2.CommitmentWithdrawn, event: Event, occurred: datetime
    ) -> None:
        name = payload.commitment.name
        uscc, commitment_id = declarations.parse_commitment_name(name, "commitment.name")
        _same_subject(event, uscc, "commitment.name")
        # A withdrawal comes after the declaration: its dates were checked then, against that day.
        declarations.validate_commitment(commitment_draft_from_proto(payload.commitment), date.min)
        key = (uscc, commitment_id)
        commitment = self._commitments.get(key) or self.uow.declarations.get_commitment(*key)
        if commitment is None:
            raise not_found(name)
        withdrawn = declarations.withdraw(commitment, occurred)
        if not self.uow.declarations.save_commitment(withdrawn):
            raise concurrent_change(name)  # a concurrent withdrawal (the API's) came first
        self._commitments[key] = withdrawn

    def capability_declared(
        self, payload: events_pb2.CapabilityDeclared, event: Event, occurred: datetime
    ) -> None:
        message = payload.declaration
        declaration_id = declarations.capability_id(message.name, event.subject)
        valid = declarations.validate_capability(capability_draft_from_proto(message))
        require_active(self._existing(event.subject), "declare")
        if declaration_id in self._declared or self.uow.declarations.get_capability(
            event.subject, declaration_id
        ):
            raise already_exists(message.name)
        code = self._public_code(declarations.CAPABILITY_CODE, message.public_code)
        declaration = declarations.new_capability(event.subject, valid, declaration_id, code, occurred)
        self.uow.declarations.add_capability(declaration)
        self._declared.add(declaration_id)


# Event payload (the oneof field of integrity.events.v1.Event) -> how the batch applies it; the same as the
# manifest's `history.owns`.
_APPLY: dict[str, Callable[[_Batch, Any, Event, datetime], None]] = {
    "enterprise_registered": _Batch.enterprise_registered,
    "enterprise_updated": _Batch.enterprise_updated,
    "enterprise_status_changed": _Batch.enterprise_updated,
    "instrument_registered": _Batch.instrument_registered,
    "verification_recorded": _Batch.verification_recorded,
    "commitment_declared": _Batch.commitment_declared,
    "commitment_withdrawn": _Batch.commitment_withdrawn,
    "capability_declared": _Batch.capability_declared,
}
