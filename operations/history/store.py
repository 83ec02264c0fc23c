"""Imported enterprise events into the enterprise registry, as the service's own use cases write them.

The registry is the state behind GetEnterprise, ListInstruments and LookupPublicCode; an imported
history must leave it as if the events had happened through the API. Every rule that needs stored state
(the enterprise exists, a serial number is not taken twice) is checked before anything is written, so a
refused event leaves the transaction untouched. Complaints and inspections keep only their outboxes:
their events do not carry what those services' own records need (descriptions, inspectors, plans).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from operations.history.validation import capability_id
from services.enterprises import declarations, instruments
from services.enterprises.domain import (
    ACTIVE,
    Enterprise,
    compute_etag,
    enterprise_name,
    register,
    validate_registration,
)
from services.enterprises.messages import (
    capability_draft_from_proto,
    commitment_draft_from_proto,
    draft_from_proto,
    verification_draft_from_proto,
)
from services.enterprises.tables import CapabilityDeclarationRow
from services.enterprises.unit_of_work import EnterprisesUnitOfWork
from shared.errors import already_exists, failed_precondition, not_found
from shared.events import Event

DEREGISTERED = enterprises_pb2.ENTERPRISE_STATUS_DEREGISTERED


class EnterpriseStore:
    """Applies enterprise events to the registry in an open unit of work; IntegrityError when refused."""

    def __init__(self, uow: EnterprisesUnitOfWork) -> None:
        self.uow = uow
        # What this transaction has read or written, so a batch does not ask the database again for the
        # enterprise or instrument of every verification (most of an import's lines).
        self._enterprises: dict[str, Enterprise | None] = {}
        self._instruments: dict[tuple[str, str], instruments.Instrument | None] = {}
        self._serials: set[tuple[str, int, str]] = set()
        self._declared: set[str] = set()  # commitment and capability declaration ids

    def apply(self, event: Event) -> None:
        kind = event.WhichOneof("payload")
        occurred = event.occurred_at.ToDatetime(tzinfo=UTC)
        recorded = event.recorded_at.ToDatetime(tzinfo=UTC) if event.HasField("recorded_at") else occurred
        # Lookups need not flush first: what this transaction wrote is in the caches above, so the
        # writes go to the database together at commit.
        with self.uow.session.no_autoflush:
            getattr(self, f"_{kind}")(getattr(event, kind), event, occurred, recorded)

    # --- the enterprise itself ----------------------------------------------------------------------

    def _enterprise_registered(
        self, payload: events_pb2.EnterpriseRegistered, event: Event, occurred: datetime, _recorded: datetime
    ) -> None:
        registration = validate_registration(draft_from_proto(payload.enterprise))
        if self._enterprise(registration.uscc) is not None:
            raise already_exists(enterprise_name(registration.uscc), "it was registered before")
        enterprise = register(registration, occurred)
        status = payload.enterprise.status or ACTIVE
        if status != ACTIVE:
            enterprise = replace(enterprise, status=status, etag=compute_etag(registration, status, occurred))
        self.uow.enterprises.add(enterprise)
        self._enterprises[enterprise.uscc] = enterprise

    def _enterprise_updated(
        self, payload: events_pb2.EnterpriseUpdated, event: Event, occurred: datetime, _recorded: datetime
    ) -> None:
        self.uow.session.flush()  # the compare-and-set below is a plain UPDATE: pending rows first
        current = self._existing(event.subject)
        if occurred < current.update_time:
            return  # older than the stored state: it joins the history, the registry keeps the newer
        registration = validate_registration(draft_from_proto(payload.enterprise))
        status = payload.enterprise.status or current.status
        updated = replace(
            current,
            **vars(registration),
            status=status,
            update_time=occurred,
            etag=compute_etag(registration, status, occurred),
        )
        self.uow.enterprises.replace(updated, current.etag)
        self._enterprises[updated.uscc] = updated

    _enterprise_status_changed = _enterprise_updated

    def _enterprise(self, uscc: str) -> Enterprise | None:
        if uscc not in self._enterprises:
            self._enterprises[uscc] = self.uow.enterprises.get(uscc)
        return self._enterprises[uscc]

    def _instrument(self, uscc: str, instrument_id: str) -> instruments.Instrument | None:
        key = (uscc, instrument_id)
        if key not in self._instruments:
            self._instruments[key] = self.uow.instruments.get(uscc, instrument_id)
        return self._instruments[key]

    def _existing(self, uscc: str) -> Enterprise:
        enterprise = self._enterprise(uscc)
        if enterprise is None:
            raise not_found(enterprise_name(uscc))
        return enterprise

    def _active(self, uscc: str) -> Enterprise:
        enterprise = self._existing(uscc)
        if enterprise.status == DEREGISTERED:
            raise failed_precondition(f"{enterprise.name} is deregistered", "DEREGISTERED")
        return enterprise

    # --- instruments --------------------------------------------------------------------------------

    def _instrument_registered(
        self, payload: events_pb2.InstrumentRegistered, event: Event, occurred: datetime, _recorded: datetime
    ) -> None:
        message = payload.instrument
        uscc, instrument_id = instruments.parse_instrument_name(message.name, "instrument.name")
        draft = instruments.validate_instrument(
            instruments.InstrumentDraft(message.type, message.serial_number, message.location, message.usage)
        )
        self._active(uscc)
        if self._instrument(uscc, instrument_id) is not None:
            raise already_exists(message.name)
        serial = (uscc, draft.type, draft.serial_number)
        existing = self.uow.instruments.find_serial(*serial)
        if existing is not None or serial in self._serials:
            name = existing.name if existing is not None else enterprise_name(uscc) + "/instruments"
            raise already_exists(name, "an instrument of this type and serial number is registered")
        instrument = instruments.new_instrument(uscc, draft, instrument_id, occurred)
        self.uow.instruments.add(instrument)
        self._instruments[(uscc, instrument_id)] = instrument
        self._serials.add(serial)

    def _verification_recorded(
        self, payload: events_pb2.VerificationRecorded, event: Event, occurred: datetime, recorded: datetime
    ) -> None:
        uscc, instrument_id = instruments.parse_instrument_name(payload.instrument, "instrument")
        instrument = self._instrument(uscc, instrument_id)
        if instrument is None:
            raise not_found(payload.instrument)
        checked = instruments.validate_verification(
            verification_draft_from_proto(payload.verification), date.max
        )
        self.uow.instruments.add_verification(instrument_id, checked.of(instrument.type), recorded)

    # --- self-declarations --------------------------------------------------------------------------

    def _commitment_declared(
        self, payload: events_pb2.CommitmentDeclared, event: Event, occurred: datetime, _recorded: datetime
    ) -> None:
        message = payload.commitment
        uscc, commitment_id = declarations.parse_commitment_name(message.name, "commitment.name")
        self._active(uscc)
        if commitment_id in self._declared or self.uow.declarations.get_commitment(uscc, commitment_id):
            raise already_exists(message.name)
        draft = commitment_draft_from_proto(message)
        # Its dates were checked against the day it was declared (operations.history.validation).
        valid = declarations.validate_commitment(draft, date.min)
        code = self._public_code(message.public_code, declarations.COMMITMENT_CODE)
        commitment = declarations.new_commitment(uscc, valid, commitment_id, code, occurred)
        self.uow.declarations.add_commitment(commitment)
        self._declared.add(commitment_id)

    def _commitment_withdrawn(
        self, payload: events_pb2.CommitmentWithdrawn, event: Event, occurred: datetime, _recorded: datetime
    ) -> None:
        name = payload.commitment.name
        uscc, commitment_id = declarations.parse_commitment_name(name, "commitment.name")
        self.uow.session.flush()  # a declaration earlier in this batch must be found, then merged
        commitment = self.uow.declarations.get_commitment(uscc, commitment_id)
        if commitment is None:
            raise not_found(name)
        if commitment.withdraw_time is not None:
            raise failed_precondition(f"{name} was already withdrawn", "ALREADY_WITHDRAWN")
        self.uow.declarations.save_commitment(replace(commitment, withdraw_time=occurred))

    def _capability_declared(
        self, payload: events_pb2.CapabilityDeclared, event: Event, occurred: datetime, _recorded: datetime
    ) -> None:
        message = payload.declaration
        declaration_id = capability_id(event, message.name)
        self._active(event.subject)
        if declaration_id in self._declared or self.uow.session.get(CapabilityDeclarationRow, declaration_id):
            raise already_exists(message.name)
        valid = declarations.validate_capability(capability_draft_from_proto(message))
        code = self._public_code(message.public_code, declarations.CAPABILITY_CODE)
        declaration = declarations.new_capability(event.subject, valid, declaration_id, code, occurred)
        self.uow.declarations.add_capability(declaration)
        self._declared.add(declaration_id)

    def _public_code(self, given: str, kind: str) -> str:
        """The legacy code when it is one of ours and free (printed signs keep working), else a new one."""
        code = given.strip().upper()
        if (
            code.startswith(kind)
            and declarations.PUBLIC_CODE.fullmatch(code)
            and self.uow.declarations.by_public_code(code) is None
        ):
            return code
        while True:
            code = declarations.new_public_code(kind)
            if self.uow.declarations.by_public_code(code) is None:
                return code
