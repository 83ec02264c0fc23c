"""Use cases for instruments under mandatory verification. Each runs in one unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import TypeVar

from integrity.events.v1 import events_pb2
from services.enterprises.adapters.mapping import instrument_to_proto, verification_to_proto
from services.enterprises.domain import instruments
from services.enterprises.domain.enterprise import enterprise_name, parse_enterprise_name, require_active
from services.enterprises.domain.instruments import InstrumentDraft, InstrumentView, VerificationDraft
from services.enterprises.domain.values import CHINA_STANDARD_TIME, china_today
from services.enterprises.use_cases import queries
from services.enterprises.use_cases.common import audit, original_of, stage
from services.enterprises.use_cases.unit_of_work import EnterprisesUoW
from shared.auth import Principal, Role, require_enterprise_read
from shared.errors import (
    FieldViolation,
    IntegrityError,
    StorageConflict,
    already_exists,
    invalid_argument,
    not_found,
    permission_denied,
)
from shared.events import utcnow
from shared.idempotency import request_key

T = TypeVar("T")
MAX_BATCH = 1000


def _require_self_or_system(principal: Principal, uscc: str) -> None:
    if principal.role == Role.SYSTEM or (principal.role == Role.ENTERPRISE and principal.uscc == uscc):
        return
    raise permission_denied(f"{principal.role} {principal.subject!r} may not act for enterprise {uscc}")


def create_instrument(
    uow: EnterprisesUoW,
    parent: str,
    draft: InstrumentDraft,
    principal: Principal,
    request_id: str = "",
    *,
    now: datetime | None = None,
    today: date | None = None,
) -> InstrumentView:
    """Registers an instrument of enterprise `parent` and stages InstrumentRegistered; a repeated
    request_id returns the instrument its first request registered."""
    uscc = parse_enterprise_name(parent, "parent")
    valid = instruments.validate_instrument(draft)
    key = request_key(request_id)
    _require_self_or_system(principal, uscc)
    day = today or china_today()
    for attempt in range(2):  # a second look tells a lost race of the same request from a duplicate
        try:
            return _create_instrument(uow, uscc, valid, key, principal, now or utcnow(), day)
        except StorageConflict:
            if attempt == 1 or key is None:
                raise already_exists(
                    f"{parent}/instruments", "the same instrument was just registered"
                ) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _create_instrument(
    uow: EnterprisesUoW,
    uscc: str,
    valid: InstrumentDraft,
    key: str | None,
    principal: Principal,
    now: datetime,
    day: date,
) -> InstrumentView:
    parent = enterprise_name(uscc)
    with uow:
        original = original_of(
            key,
            uow.instruments.get_by_request_id,
            lambda found: instruments.same_instrument(found, uscc, valid),
            "instrument",
        )
        if original is not None:
            history = uow.instruments.verifications([original.instrument_id])
            return instruments.view(original, history[original.instrument_id], day)
        enterprise = uow.enterprises.get(uscc)
        if enterprise is None:
            raise not_found(parent)
        require_active(enterprise, "register instruments")
        existing = uow.instruments.find_serial(uscc, valid.type, valid.serial_number)
        if existing is not None:
            raise instruments.duplicate_serial(uscc, existing)
        instrument = instruments.new_instrument(uscc, valid, uuid.uuid4().hex[:16], now, key)
        uow.instruments.add(instrument)
        registered = instruments.view(instrument, [], day)
        payload = events_pb2.InstrumentRegistered(instrument=instrument_to_proto(registered))
        event = stage(uow, uscc, payload, instrument.create_time)
        uow.commit()  # StorageConflict when a concurrent create took the serial number or request_id
    audit("CreateInstrument", instrument.name, principal, event_id=event.id)
    return registered


@dataclass(frozen=True)
class InstrumentPage:
    instruments: list[InstrumentView]
    next_page_token: str


def list_instruments(
    uow: EnterprisesUoW,
    parent: str,
    principal: Principal,
    *,
    page_size: int = 0,
    page_token: str = "",
    today: date | None = None,
) -> InstrumentPage:
    uscc = parse_enterprise_name(parent, "parent")
    size = queries.page_size_of(page_size)
    after = queries.decode_instrument_page_token(page_token, uscc)
    # As for GetEnterprise: who can never read another enterprise learns nothing from NOT_FOUND.
    if principal.role in (Role.ENTERPRISE, Role.PUBLIC):
        require_enterprise_read(principal, uscc, None)
    with uow:
        enterprise = uow.enterprises.get(uscc)
        if enterprise is None:
            raise not_found(parent)
        require_enterprise_read(principal, uscc, enterprise.region_code)
        found = uow.instruments.list(uscc, after, size + 1)
        page = found[:size]
        history = uow.instruments.verifications([i.instrument_id for i in page])
    day = today or china_today()
    views = [instruments.view(i, history[i.instrument_id], day) for i in page]
    token = queries.encode_instrument_page_token(uscc, page[-1].instrument_id) if len(found) > size else ""
    return InstrumentPage(views, token)


@dataclass(frozen=True)
class VerificationEntry:
    """One verification to record, with the request paths its errors are reported under."""

    instrument: str
    draft: VerificationDraft
    instrument_field: str = "instrument"
    verification_field: str = "verification"


def _collecting(violations: list[FieldViolation], check: Callable[..., T], *args: object) -> T | None:
    """check(*args), or None with its field violations added to `violations`."""
    try:
        return check(*args)
    except IntegrityError as err:
        violations += err.field_violations
        return None


def record_verifications(
    uow: EnterprisesUoW,
    entries: list[VerificationEntry],
    principal: Principal | None = None,
    *,
    now: datetime | None = None,
    today: date | None = None,
) -> list[InstrumentView]:
    """Records every entry or none; stages one VerificationRecorded per entry (keyed by the USCC)."""
    if not entries:
        raise invalid_argument([FieldViolation("requests", "is required: at least one verification")])
    if len(entries) > MAX_BATCH:
        raise invalid_argument([FieldViolation("requests", f"at most {MAX_BATCH}, got {len(entries)}")])
    # Everything that needs no lookup is checked first, all entries at once.
    violations: list[FieldViolation] = []
    checked: list[tuple[tuple[str, str], instruments.CheckedVerification]] = []
    day, moment = today or china_today(), now or utcnow()
    for entry in entries:
        target = _collecting(
            violations, instruments.parse_instrument_name, entry.instrument, entry.instrument_field
        )
        verification = _collecting(
            violations, instruments.validate_verification, entry.draft, day, entry.verification_field
        )
        if target is not None and verification is not None:
            checked.append((target, verification))
    if violations:
        raise invalid_argument(violations)
    with uow:
        found: dict[tuple[str, str], instruments.Instrument] = {}
        recorded: list[tuple[instruments.Instrument, instruments.Verification]] = []
        for (target, verification), entry in zip(checked, entries, strict=True):
            instrument = found.get(target) or uow.instruments.get(*target)
            if instrument is None:
                raise not_found(entry.instrument)
            found[target] = instrument
            recorded.append((instrument, verification.of(instrument.type)))
        for instrument, verification in recorded:
            uow.instruments.add_verification(instrument.instrument_id, verification, moment)
            payload = events_pb2.VerificationRecorded(
                instrument=instrument.name,
                instrument_type=instrument.type,  # type: ignore[arg-type]
                verification=verification_to_proto(verification),
            )
            # It happened on the verification date (China time), whenever it reaches us.
            occurred = datetime.combine(verification.verification_date, time(), CHINA_STANDARD_TIME)
            stage(uow, instrument.uscc, payload, occurred)
        history = uow.instruments.verifications([i.instrument_id for i, _ in recorded])
        uow.commit()
    for instrument, _ in recorded:
        audit("RecordVerification", instrument.name, principal)
    return [instruments.view(i, history[i.instrument_id], day) for i, _ in recorded]
