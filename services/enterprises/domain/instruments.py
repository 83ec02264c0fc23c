"""Instruments under mandatory verification and their verifications: rules and derived status. Pure.

The verification status is never stored: it is derived when read from the last verification and the
date, so an instrument whose next due date passes shows as overdue without anyone touching it.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from integrity.enterprises.v1 import enterprises_pb2 as pb
from services.enterprises.domain.catalogue import kind_of
from services.enterprises.domain.enterprise import RESOURCE_PREFIX, parse_enterprise_name
from services.enterprises.domain.values import parse_date, parse_past_date, text_problem
from shared.errors import FieldViolation, IntegrityError, already_exists, invalid_argument

SERIAL_MAX = 64
LOCATION_MAX = 200
CERTIFICATE_MAX = 64
DUE_SOON_DAYS = 30
# A next due date further out than this is a typo, not a verification cycle.
LONGEST_CYCLE_YEARS = 20
INSTRUMENT_ID = re.compile(r"[0-9a-f]{16}")
_USAGES = frozenset(v for v in pb.InstrumentUsage.values() if v != 0)
_RESULTS = frozenset(v for v in pb.VerificationResult.values() if v != 0)


@dataclass(frozen=True)
class InstrumentDraft:
    type: int
    serial_number: str
    location: str = ""
    usage: int = 0


@dataclass(frozen=True)
class Instrument:
    instrument_id: str
    uscc: str
    type: int
    serial_number: str
    location: str
    usage: int
    create_time: datetime
    request_id: str | None = None

    @property
    def name(self) -> str:
        return instrument_name(self.uscc, self.instrument_id)


@dataclass(frozen=True)
class VerificationDraft:
    verification_date: str
    result: int
    certificate_number: str
    next_due_date: str = ""


@dataclass(frozen=True)
class Verification:
    verification_date: date
    result: int
    certificate_number: str
    next_due_date: date


@dataclass(frozen=True)
class InstrumentView:
    """An instrument as read on a given day: with its latest verification and derived status."""

    instrument: Instrument
    last_verification: Verification | None
    status: int


def instrument_name(uscc: str, instrument_id: str) -> str:
    return f"{RESOURCE_PREFIX}{uscc}/instruments/{instrument_id}"


def parse_instrument_name(name: str, field: str) -> tuple[str, str]:
    """(uscc, instrument_id) of `enterprises/{uscc}/instruments/{id}`; INVALID_ARGUMENT on `field`."""
    parts = name.split("/")
    if len(parts) != 4 or parts[2] != "instruments" or not INSTRUMENT_ID.fullmatch(parts[3]):
        shown = name[:80]
        raise invalid_argument(
            [FieldViolation(field, f"must be enterprises/{{uscc}}/instruments/{{id}}, got {shown!r}")]
        )
    return parse_enterprise_name("/".join(parts[:2]), field), parts[3]


def type_problem(instrument_type: int) -> str | None:
    """What is wrong with an instrument type named elsewhere (a verification's), or None when catalogued."""
    if instrument_type == 0:
        return "is required, one of the InstrumentType values in the catalogue"
    return None if kind_of(instrument_type) else f"{instrument_type} is not a catalogued InstrumentType"


def validate_instrument(draft: InstrumentDraft, prefix: str = "instrument") -> InstrumentDraft:
    """The draft in canonical form (text stripped, usage defaulted); INVALID_ARGUMENT listing all problems."""
    serial, location = draft.serial_number.strip(), draft.location.strip()
    usage = draft.usage or pb.INSTRUMENT_USAGE_IN_USE
    problems = {
        "type": None
        if kind_of(draft.type)
        else f"{draft.type} is not a type in the catalogue (InstrumentType)",
        "serial_number": text_problem(serial, SERIAL_MAX, "is required (the manufacturer's serial number)"),
        "location": text_problem(location, LOCATION_MAX, None),
        "usage": None if usage in _USAGES else f"{usage} is not a known InstrumentUsage value",
    }
    violations = [FieldViolation(f"{prefix}.{f}", p) for f, p in problems.items() if p is not None]
    if violations:
        raise invalid_argument(violations)
    return InstrumentDraft(draft.type, serial, location, usage)


def new_instrument(
    uscc: str, draft: InstrumentDraft, instrument_id: str, now: datetime, request_id: str | None = None
) -> Instrument:
    return Instrument(
        instrument_id,
        uscc,
        draft.type,
        draft.serial_number,
        draft.location,
        draft.usage,
        now.astimezone(UTC),
        request_id,
    )


def duplicate_serial(uscc: str, existing: Instrument | None) -> IntegrityError:
    """ALREADY_EXISTS for a second registration of one physical instrument (type and serial number)."""
    name = existing.name if existing is not None else f"{RESOURCE_PREFIX}{uscc}/instruments"
    return already_exists(name, "an instrument of this type and serial number is registered")


def same_instrument(instrument: Instrument, uscc: str, draft: InstrumentDraft) -> bool:
    """Whether `instrument` is what registering `draft` for `uscc` creates (a repeated request)."""
    fields = (
        instrument.uscc,
        instrument.type,
        instrument.serial_number,
        instrument.location,
        instrument.usage,
    )
    return fields == (uscc, draft.type, draft.serial_number, draft.location, draft.usage)


def add_months(start: date, months: int) -> date:
    """`start` plus whole months; the 31st becomes the month's last day when the month is shorter."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class CheckedVerification:
    """A valid verification whose next due date may still wait for the instrument's type."""

    verification_date: date
    result: int
    certificate_number: str
    next_due_date: date | None

    def of(self, instrument_type: int) -> Verification:
        """The verification of an instrument of `instrument_type`: due by default after the type's cycle."""
        kind = kind_of(instrument_type)
        due = self.next_due_date or add_months(self.verification_date, kind.cycle_months if kind else 12)
        return Verification(self.verification_date, self.result, self.certificate_number, due)


def validate_verification(
    draft: VerificationDraft, today: date, prefix: str = "verification"
) -> CheckedVerification:
    """A verification in canonical form; INVALID_ARGUMENT listing every problem under `prefix`."""
    violations: list[FieldViolation] = []

    def check(field: str, problem: str | None) -> None:
        if problem is not None:
            violations.append(FieldViolation(f"{prefix}.{field}", problem))

    verified_on, problem = parse_past_date(draft.verification_date, today, required=True)
    check("verification_date", problem)
    check("result", None if draft.result in _RESULTS else "is required: VERIFICATION_RESULT_PASS or _FAIL")
    certificate = draft.certificate_number.strip()
    check("certificate_number", text_problem(certificate, CERTIFICATE_MAX, "is required"))
    due, due_problem = parse_date(draft.next_due_date, required=False)
    if due is not None and verified_on is not None:
        if due <= verified_on:
            due_problem = "must be after verification_date"
        elif due > verified_on + timedelta(days=366 * LONGEST_CYCLE_YEARS):
            due_problem = f"must be within {LONGEST_CYCLE_YEARS} years of verification_date"
    check("next_due_date", due_problem)
    if violations:
        raise invalid_argument(violations)
    assert verified_on is not None
    return CheckedVerification(verified_on, draft.result, certificate, due)


def latest(verifications: list[Verification]) -> Verification | None:
    """The verification that counts: the latest by date; of one day's, the last recorded."""
    best: Verification | None = None
    for verification in verifications:  # in the order recorded
        if best is None or verification.verification_date >= best.verification_date:
            best = verification
    return best


def verification_status(last: Verification | None, today: date) -> int:
    if last is None:
        return pb.VERIFICATION_STATUS_UNVERIFIED
    if last.result == pb.VERIFICATION_RESULT_FAIL:
        return pb.VERIFICATION_STATUS_FAILED
    if today > last.next_due_date:
        return pb.VERIFICATION_STATUS_OVERDUE
    if (last.next_due_date - today).days <= DUE_SOON_DAYS:
        return pb.VERIFICATION_STATUS_DUE_SOON
    return pb.VERIFICATION_STATUS_VALID


def view(instrument: Instrument, verifications: list[Verification], today: date) -> InstrumentView:
    last = latest(verifications)
    return InstrumentView(instrument, last, verification_status(last, today))
