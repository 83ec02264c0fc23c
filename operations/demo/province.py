"""A synthetic province: enterprises whose hidden integrity drives what happens to them over the years.

Each enterprise gets a hidden dishonesty `z` (standard normal; its integrity is the normal CDF of -z, so
integrity is uniform on (0, 1)). Dishonesty, and a little of size and sector, sets the probability that
an inspection finds a violation; the same dishonesty makes complaints more frequent and more often
substantiated, verification of instruments later (so more instruments are overdue at any moment),
commitments rarer and capability declarations more often false, and rectification later. Outcomes are
drawn from that probability, which is kept per inspection as the truth a backtest can be compared with.

Nothing here is fitted to real data: the rates are plausible guesses (see demo/shaanxi.py), chosen so
that a model has something real to learn and a reader can tell a good ranking from a bad one.

Deterministic: an enterprise's history depends only on (seed, its index, the window), through its own
random generator, and event ids are uuid5 names of the same. Enterprises stream one at a time, so a
province of a million never sits in memory at once.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from statistics import NormalDist

from google.protobuf.message import Message

from integrity.complaints.v1 import complaints_pb2 as cpb
from integrity.enterprises.v1 import enterprises_pb2 as epb
from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2 as ipb
from operations.demo.shaanxi import CITIES, SECTORS, SIZE_MIX, SIZE_SCALE, TRADE_NAMES, Sector
from shared.events import Event
from shared.uscc import with_check_character

DEFAULT_END = datetime(2026, 10, 1, tzinfo=UTC)
EARLIEST_REGISTRATION = date(1992, 1, 1)  # the oldest firms of the demo
ENTERPRISES_SOURCE = "//integrity/enterprises"
COMPLAINTS_SOURCE = "//integrity/complaints"
INSPECTIONS_SOURCE = "//integrity/inspections"

_ID_NAMESPACE = uuid.UUID("6f1d3c1e-5b7a-4f0e-9a51-3c2d8b7e4a10")
_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CODE_CHARS = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # public codes of commitments and declarations
_DAY = timedelta(days=1)
_NORMAL = NormalDist()

# Violation probability of an inspection: logistic in dishonesty, with small effects of size, sector,
# a complaint that triggered it, and instruments that are overdue or failed at the time.
BASE_LOGIT = -4.3
DISHONESTY_WEIGHT = 1.0
SIZE_LOGIT = {epb.SIZE_CLASS_MICRO: 0.25, epb.SIZE_CLASS_SMALL: 0.1, epb.SIZE_CLASS_MEDIUM: -0.1}
SIZE_LOGIT[epb.SIZE_CLASS_LARGE] = -0.3
SECTOR_LOGIT = {"fuel": 0.2, "retail": 0.15, "prepackaged": 0.2, "medical": -0.3, "testing": -0.3}
TRIGGERED_LOGIT = 0.6
BAD_INSTRUMENTS_LOGIT = 0.6  # times the share of instruments overdue or failed

ROUTINE_INSPECTIONS_PER_YEAR = 0.4  # double-random draws: most enterprises are inspected every few years
COMPETITOR_FLOOD_SHARE = 0.01  # enterprises hit by a flood of baseless complaints (independent of integrity)


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@dataclass(frozen=True)
class EnterpriseHistory:
    uscc: str
    region_code: str  # the city (GB/T 2260), 610100..611000
    size_class: str  # SizeClass name
    integrity: float  # hidden, in (0, 1): higher is more honest
    events: list[Event]  # sorted by (occurred_at, id)
    violation_probability: dict[str, float]  # inspection name -> true P(a violation is found)


def generate_province(
    enterprises: int,
    seed: int = 1,
    *,
    years: int = 5,
    end: datetime = DEFAULT_END,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[EnterpriseHistory]:
    """Streams the province's enterprises with their histories over the `years` before `end`."""
    if enterprises < 0 or years < 1:
        raise ValueError("enterprises must be >= 0 and years >= 1")
    start = end - timedelta(days=round(365.25 * years))
    for index in range(enterprises):
        yield _EnterpriseStory(seed, index, start, end).tell()
        if on_progress is not None:
            on_progress(1)


def _weighted(rng: random.Random, weights: dict) -> object:  # type: ignore[type-arg]
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass
class _Instrument:
    name: str
    type: int
    # Intervals [from, to) in which the instrument was "overdue" or had "failed" verification.
    bad: list[tuple[datetime, datetime, str]] = field(default_factory=list)


class _EnterpriseStory:
    """One enterprise's profile and history, drawn from its own random generator."""

    def __init__(self, seed: int, index: int, start: datetime, end: datetime) -> None:
        self.rng = random.Random(f"integrity-demo:{seed}:{index}")
        self.seed, self.index, self.start, self.end = seed, index, start, end
        self.events: list[Event] = []
        self.truth: dict[str, float] = {}
        self.instruments: list[_Instrument] = []
        rng = self.rng
        self.z = rng.gauss(0.0, 1.0)
        self.city = str(_weighted(rng, {code: pop for code, (_, pop, _) in CITIES.items()}))
        city_name, _, counties = CITIES[self.city]
        self.county = rng.choice(counties)
        self.sector: Sector = rng.choices(SECTORS, weights=[s.share for s in SECTORS])[0]
        self.size = int(_weighted(rng, SIZE_MIX))  # type: ignore[call-overload]
        serial = (index + seed * 1_000_003) % 31**7
        code = "".join(_USCC_CHARS[(serial // 31**k) % 31] for k in reversed(range(7)))
        self.uscc = with_check_character(f"91{self.county}MA{code}")
        age_days = rng.expovariate(1 / (365.25 * (4 if self.size == epb.SIZE_CLASS_MICRO else 9)))
        self.registered = max((end - timedelta(days=age_days)).date(), EARLIEST_REGISTRATION)
        self.active_from = max(start, _at(self.registered, 9)) + timedelta(minutes=rng.randrange(600))
        self.display_name = f"{city_name}{rng.choice(TRADE_NAMES)}{rng.choice(self.sector.name_suffixes)}"
        self.false_capability = False
        self._last_complaint = ""  # the complaint a repeat report points to

    # -- helpers -------------------------------------------------------------------------------------

    def emit(self, moment: datetime, source: str, field_name: str, payload: Message) -> None:
        if moment >= self.end:
            return  # beyond the window: it has not happened yet
        event = Event(
            id=str(uuid.uuid5(_ID_NAMESPACE, f"{self.seed}:{self.index}:{len(self.events)}")),
            type=payload.DESCRIPTOR.full_name,
            source=source,
            subject=self.uscc,
        )
        event.occurred_at.FromDatetime(moment)
        event.recorded_at.FromDatetime(moment)
        getattr(event, field_name).CopyFrom(payload)
        self.events.append(event)

    def new_id(self, moment: datetime) -> str:
        """24 hex digits like the services' ids: milliseconds, then six random bytes."""
        return f"{int(moment.timestamp() * 1000):012x}{self.rng.getrandbits(48):012x}"

    def new_record_id(self) -> str:
        """16 hex digits, like the enterprises service's instrument and declaration ids."""
        return f"{self.rng.getrandbits(64):016x}"

    def public_code(self, prefix: str) -> str:
        return f"{prefix}-" + "".join(self.rng.choice(_CODE_CHARS) for _ in range(10))

    def poisson_times(self, per_year: float, begin: datetime) -> list[datetime]:
        times, moment = [], begin
        if per_year <= 0:
            return times
        while True:
            moment += timedelta(days=self.rng.expovariate(per_year / 365.25))
            if moment >= self.end:
                return times
            times.append(moment)

    def bad_share(self, moment: datetime) -> tuple[int, int, int]:
        """(instruments, of which overdue, of which failed) at `moment`."""
        overdue = failed = 0
        for instrument in self.instruments:
            for begin, stop, kind in instrument.bad:
                if begin <= moment < stop:
                    if kind == "failed":
                        failed += 1
                    else:
                        overdue += 1
                    break
        return len(self.instruments), overdue, failed

    # -- the story -----------------------------------------------------------------------------------

    def tell(self) -> EnterpriseHistory:
        self.register()
        self.install_instruments()
        self.commit()
        self.declare_capability()
        triggers = self.complaints()
        self.inspections(triggers)
        self.events.sort(key=lambda e: (e.occurred_at.seconds, e.occurred_at.nanos, e.id))
        return EnterpriseHistory(
            uscc=self.uscc,
            region_code=self.city,
            size_class=epb.SizeClass.Name(self.size),  # type: ignore[arg-type]
            integrity=_NORMAL.cdf(-self.z),
            events=self.events,
            violation_probability=self.truth,
        )

    def register(self) -> None:
        enterprise = epb.Enterprise(
            name=f"enterprises/{self.uscc}",
            uscc=self.uscc,
            display_name=f"{self.display_name}有限公司"
            if not self.display_name.endswith("公司")
            else self.display_name,
            region_code=self.county,
            industry_code=self.rng.choice(self.sector.industry_codes),
            subject_type=self.sector.subject_type,  # type: ignore[arg-type]
            size_class=self.size,  # type: ignore[arg-type]
            registered_date=self.registered.isoformat(),
            status=epb.ENTERPRISE_STATUS_ACTIVE,
        )
        enterprise.create_time.FromDatetime(self.active_from)
        enterprise.update_time.FromDatetime(self.active_from)
        enterprise.etag = f"{self.rng.getrandbits(64):016x}"
        self.emit(
            self.active_from,
            ENTERPRISES_SOURCE,
            "enterprise_registered",
            events_pb2.EnterpriseRegistered(enterprise=enterprise),
        )

    def install_instruments(self) -> None:
        """Instruments and their verifications: a dishonest enterprise verifies late, and fails more."""
        rng, z = self.rng, self.z
        scale = SIZE_SCALE[self.size]
        late_probability = sigmoid(-1.2 + 1.8 * z)
        fail_probability = sigmoid(-3.5 + 0.8 * z)
        for instrument_type, low, high in self.sector.instruments:
            count = min(round(rng.randint(low, high) * scale), 30)
            cycle_days = _cycle_months(instrument_type) * 30.44
            for serial in range(count):
                installed = self.active_from + timedelta(minutes=5 + serial)
                instrument = _Instrument(
                    f"enterprises/{self.uscc}/instruments/{self.new_record_id()}", instrument_type
                )
                # Verified some time in the last cycle before the records begin.
                verified = (installed - timedelta(days=rng.uniform(0, cycle_days * 0.9))).date()
                due = verified + timedelta(days=cycle_days)
                self.emit(
                    installed,
                    ENTERPRISES_SOURCE,
                    "instrument_registered",
                    events_pb2.InstrumentRegistered(
                        instrument=epb.Instrument(
                            name=instrument.name,
                            type=instrument_type,  # type: ignore[arg-type]
                            serial_number=f"SN{rng.getrandbits(32):08X}",
                            location=f"{self.display_name}",
                            usage=epb.INSTRUMENT_USAGE_IN_USE,
                            last_verification=self.verification(verified, True, due),
                            verification_cycle_months=_cycle_months(instrument_type),
                        )
                    ),
                )
                while _at(due, 0) < self.end:
                    if rng.random() < late_probability:
                        done = due + timedelta(days=1 + rng.expovariate(1 / (50 * math.exp(0.6 * z))))
                        instrument.bad.append((_at(due, 0), _at(done, 0), "overdue"))
                    else:
                        done = due - timedelta(days=rng.randint(0, 20))
                    passed = rng.random() >= fail_probability
                    if not passed:  # failed: out of use in law until repaired and verified again
                        repaired = done + timedelta(days=rng.randint(7, 40))
                        self.record_verification(instrument, done, False, repaired)
                        instrument.bad.append((_at(done, 10), _at(repaired, 10), "failed"))
                        done = repaired
                    due = done + timedelta(days=cycle_days)
                    self.record_verification(instrument, done, True, due)
                self.instruments.append(instrument)

    def verification(self, verified: date, passed: bool, due: date) -> epb.Verification:
        return epb.Verification(
            verification_date=verified.isoformat(),
            result=epb.VERIFICATION_RESULT_PASS if passed else epb.VERIFICATION_RESULT_FAIL,
            certificate_number=f"JD{verified:%Y}{self.rng.getrandbits(28):08d}",
            next_due_date=due.isoformat(),
        )

    def record_verification(self, instrument: _Instrument, verified: date, passed: bool, due: date) -> None:
        moment = max(_at(verified, 10 + self.rng.randrange(6)), self.active_from + _DAY)
        self.emit(
            moment,
            ENTERPRISES_SOURCE,
            "verification_recorded",
            events_pb2.VerificationRecorded(
                instrument=instrument.name,
                instrument_type=instrument.type,  # type: ignore[arg-type]
                verification=self.verification(verified, passed, due),
            ),
        )

    def office_time(self) -> datetime:
        """A random moment in office hours after registration: the UTC date is then China's date, which
        the enterprises API checks declarations against."""
        span = (self.end - self.active_from).total_seconds()
        return _working_hours(
            self.active_from + _DAY + timedelta(seconds=self.rng.uniform(0, span)), self.rng
        )

    def commit(self) -> None:
        """An integrity commitment: honest firms commit more often."""
        rng, z = self.rng, self.z
        if rng.random() < sigmoid(0.2 - 0.7 * z):
            moment = self.office_time()
            commitment_id = self.new_record_id()
            until = (moment.date() + timedelta(days=365 * rng.randint(1, 5))).isoformat()
            commitment = epb.Commitment(
                name=f"enterprises/{self.uscc}/commitments/{commitment_id}",
                items=sorted(rng.sample(range(1, 7), rng.randint(2, 5))),  # type: ignore[arg-type]
                valid_from=moment.date().isoformat(),
                valid_until=until,
                state=epb.COMMITMENT_STATE_ACTIVE,
                public_code=self.public_code("CMT"),
            )
            commitment.create_time.FromDatetime(moment)
            self.emit(
                moment,
                ENTERPRISES_SOURCE,
                "commitment_declared",
                events_pb2.CommitmentDeclared(commitment=commitment),
            )

    def declare_capability(self) -> None:
        """A capability declaration, false more often the less honest the firm."""
        rng, z = self.rng, self.z
        if self.sector.declares_capability and rng.random() < (
            0.7 if self.size >= epb.SIZE_CLASS_SMALL else 0.3
        ):
            moment = self.office_time()
            self.false_capability = rng.random() < sigmoid(-1.8 + 1.2 * z)
            certified = (
                not self.false_capability and self.size >= epb.SIZE_CLASS_MEDIUM and rng.random() < 0.4
            )
            staff = rng.randint(1, 3) * (2 if self.size >= epb.SIZE_CLASS_MEDIUM else 1)
            declaration = epb.CapabilityDeclaration(
                name=f"enterprises/{self.uscc}/capabilityDeclarations/{self.new_record_id()}",
                has_management_system=certified or rng.random() < 0.5,
                iso10012_certificate_number=f"CMS-{rng.getrandbits(24):07d}" if certified else "",
                instrument_count=max(len(self.instruments), 1),
                metrology_staff_count=staff,
                in_house_calibration=self.size >= epb.SIZE_CLASS_MEDIUM and rng.random() < 0.3,
                public_code=self.public_code("CAP"),
            )
            declaration.declare_time.FromDatetime(moment)
            self.emit(
                moment,
                ENTERPRISES_SOURCE,
                "capability_declared",
                events_pb2.CapabilityDeclared(declaration=declaration),
            )

    def complaints(self) -> list[datetime]:
        """Complaints over the years; returns when substantiated ones would trigger an inspection."""
        rng, z = self.rng, self.z
        rate = self.sector.complaints_per_year * SIZE_SCALE[self.size] ** 0.7 * math.exp(1.0 * z)
        triggers = []
        for filed in self.poisson_times(rate, self.active_from):
            substantiated = rng.random() < sigmoid(-1.0 + 1.4 * z)
            resolved = self.complaint(filed, substantiated)
            if substantiated and rng.random() < 0.7:
                triggers.append(resolved + timedelta(days=rng.uniform(3, 20)))
            if rng.random() < 0.15:  # the same matter reported again by someone else
                self.file(filed + timedelta(days=rng.uniform(1, 10)), duplicate_of=self._last_complaint)
        if rng.random() < COMPETITOR_FLOOD_SHARE:  # a flood of baseless complaints, e.g. from a competitor
            begin = self.active_from + timedelta(
                seconds=rng.uniform(0, (self.end - self.active_from).total_seconds())
            )
            for _ in range(rng.randint(20, 60)):
                self.complaint(begin + timedelta(days=rng.uniform(0, 30)), False, anonymous=True)
        return triggers

    def file(self, moment: datetime, *, duplicate_of: str = "", anonymous: bool | None = None) -> str:
        rng = self.rng
        name = f"complaints/{self.new_id(moment)}"
        self.emit(
            moment,
            COMPLAINTS_SOURCE,
            "complaint_filed",
            events_pb2.ComplaintFiled(
                complaint=name,
                category=self.complaint_category(),  # type: ignore[arg-type]
                channel=rng.choice(  # type: ignore[arg-type]
                    (cpb.COMPLAINT_CHANNEL_PLATFORM_12315,) * 5
                    + (cpb.COMPLAINT_CHANNEL_HOTLINE,) * 3
                    + (
                        cpb.COMPLAINT_CHANNEL_ONLINE,
                        cpb.COMPLAINT_CHANNEL_LETTER,
                        cpb.COMPLAINT_CHANNEL_WALK_IN,
                    )
                ),
                anonymous=rng.random() < 0.4 if anonymous is None else anonymous,
                duplicate_of=duplicate_of,
                region_code=self.county,
            ),
        )
        return name

    def complaint(self, filed: datetime, substantiated: bool, anonymous: bool | None = None) -> datetime:
        """Filed, then accepted and resolved (or rejected); returns when it was decided."""
        rng = self.rng
        name = self.file(filed, anonymous=anonymous)
        self._last_complaint = name
        category = self.complaint_category()
        decided = filed + timedelta(days=rng.uniform(1, 5))
        if not substantiated and rng.random() < 0.25:
            self.emit(
                decided,
                COMPLAINTS_SOURCE,
                "complaint_rejected",
                events_pb2.ComplaintRejected(complaint=name, category=category),  # type: ignore[arg-type]
            )
            return decided
        self.emit(
            decided,
            COMPLAINTS_SOURCE,
            "complaint_accepted",
            events_pb2.ComplaintAccepted(complaint=name, category=category),  # type: ignore[arg-type]
        )
        resolved = decided + timedelta(days=rng.uniform(7, 40))
        severity = cpb.COMPLAINT_SEVERITY_MAJOR if rng.random() < 0.25 else cpb.COMPLAINT_SEVERITY_MINOR
        self.emit(
            resolved,
            COMPLAINTS_SOURCE,
            "complaint_resolved",
            events_pb2.ComplaintResolved(
                complaint=name,
                category=category,  # type: ignore[arg-type]
                substantiated=substantiated,
                severity=severity if substantiated else cpb.COMPLAINT_SEVERITY_UNSPECIFIED,  # type: ignore[arg-type]
            ),
        )
        return resolved

    def complaint_category(self) -> int:
        key = self.sector.key
        if key == "prepackaged":
            return cpb.COMPLAINT_CATEGORY_NET_CONTENT_SHORTFALL
        if key in ("fuel", "retail", "taxi"):
            return self.rng.choice(
                (cpb.COMPLAINT_CATEGORY_SHORT_WEIGHT_OR_MEASURE,) * 3
                + (
                    cpb.COMPLAINT_CATEGORY_CHEATING_INSTRUMENT,
                    cpb.COMPLAINT_CATEGORY_UNVERIFIED_OR_OVERDUE_INSTRUMENT,
                )
            )
        if key in ("testing", "instrument_maker"):
            return cpb.COMPLAINT_CATEGORY_FALSE_DATA_OR_CERTIFICATE
        return self.rng.choice(
            (cpb.COMPLAINT_CATEGORY_UNVERIFIED_OR_OVERDUE_INSTRUMENT, cpb.COMPLAINT_CATEGORY_OTHER)
        )

    def inspections(self, triggers: list[datetime]) -> None:
        rng = self.rng
        per_year = ROUTINE_INSPECTIONS_PER_YEAR * (1.3 if self.size >= epb.SIZE_CLASS_MEDIUM else 1.0)
        routine = self.poisson_times(per_year, self.active_from + timedelta(days=30))
        visits = sorted([(t, False) for t in routine] + [(t, True) for t in triggers if t < self.end])
        for moment, triggered in visits:
            self.inspect(_working_hours(moment, rng), triggered)

    def violation_probability(self, moment: datetime, triggered: bool) -> float:
        instruments, overdue, failed = self.bad_share(moment)
        logit = (
            BASE_LOGIT
            + DISHONESTY_WEIGHT * self.z
            + SIZE_LOGIT.get(self.size, 0.0)
            + SECTOR_LOGIT.get(self.sector.key, 0.0)
            + (TRIGGERED_LOGIT if triggered else 0.0)
            + (BAD_INSTRUMENTS_LOGIT * (overdue + failed) / instruments if instruments else 0.0)
        )
        return sigmoid(logit)

    def inspect(self, moment: datetime, triggered: bool) -> None:
        rng, z = self.rng, self.z
        name = f"inspections/{self.new_id(moment)}"
        probability = self.violation_probability(moment, triggered)
        violated = rng.random() < probability
        instruments, overdue, failed = self.bad_share(moment)
        summary = events_pb2.InspectionFindingSummary()
        outcome = ipb.INSPECTION_OUTCOME_COMPLIANT
        if self.sector.net_content:
            summary.net_content_samples = rng.randint(4, 10)
        if violated:
            serious = rng.random() < sigmoid(-2.6 + 0.8 * z)
            outcome = (
                ipb.INSPECTION_OUTCOME_SERIOUS_VIOLATION
                if serious
                else (
                    ipb.INSPECTION_OUTCOME_MAJOR_VIOLATION
                    if rng.random() < 0.3
                    else ipb.INSPECTION_OUTCOME_MINOR_VIOLATION
                )
            )
            summary.instruments_checked = instruments
            summary.instruments_overdue, summary.instruments_failed = overdue, failed
            if self.sector.net_content:
                summary.net_content_short = rng.randint(1, min(3, summary.net_content_samples))
                summary.largest_shortfall_percent = round(rng.uniform(1.0, 8.0), 1)
            if serious and self.sector.subject_type == epb.SUBJECT_TYPE_TRADE_INSTRUMENT_USER:
                summary.tampering_found = rng.random() < 0.6
            if self.false_capability and rng.random() < 0.5:
                summary.capability_declaration = events_pb2.CAPABILITY_DECLARATION_CHECK_FALSE
            summary.inspection_refused = rng.random() < 0.03
            if summary.inspection_refused or summary.capability_declaration:
                # The inspections service's rule: a refusal or a false declaration is a serious violation.
                outcome = ipb.INSPECTION_OUTCOME_SERIOUS_VIOLATION
        else:
            # A compliant visit checks the instruments in lawful use (the overdue ones are set aside).
            summary.instruments_checked = instruments - overdue - failed
            if not self.false_capability and rng.random() < 0.3:
                summary.capability_declaration = events_pb2.CAPABILITY_DECLARATION_CHECK_CONFIRMED
        payload = events_pb2.InspectionCompleted(inspection=name, outcome=outcome, summary=summary)  # type: ignore[arg-type]
        deadline = moment + timedelta(days=30)
        if violated:
            payload.rectification_deadline.FromDatetime(deadline)
            payload.penalty_reference = (
                f"陕市监计罚〔{moment:%Y}〕{rng.randint(1, 999)}号" if serious_or_major(outcome) else ""
            )
        self.emit(moment, INSPECTIONS_SOURCE, "inspection_completed", payload)
        if moment < self.end:
            self.truth[name] = probability
        if not violated or summary.inspection_refused:
            return
        if rng.random() < sigmoid(1.2 - 0.8 * z):
            self.emit(
                moment + timedelta(days=rng.uniform(5, 28)),
                INSPECTIONS_SOURCE,
                "rectification_completed",
                events_pb2.RectificationCompleted(inspection=name),
            )
            return
        overdue_event = events_pb2.RectificationOverdue(inspection=name)
        overdue_event.deadline.FromDatetime(deadline)
        self.emit(deadline + timedelta(hours=1), INSPECTIONS_SOURCE, "rectification_overdue", overdue_event)
        if rng.random() < 0.7:
            self.emit(
                deadline + timedelta(days=rng.uniform(10, 60)),
                INSPECTIONS_SOURCE,
                "rectification_completed",
                events_pb2.RectificationCompleted(inspection=name),
            )


def serious_or_major(outcome: int) -> bool:
    return outcome in (ipb.INSPECTION_OUTCOME_SERIOUS_VIOLATION, ipb.INSPECTION_OUTCOME_MAJOR_VIOLATION)


def _at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def _working_hours(moment: datetime, rng: random.Random) -> datetime:
    """Inspections happen on a weekday, in the morning or afternoon (UTC+8 office hours)."""
    day = moment.date()
    while day.weekday() >= 5:
        day += _DAY
    return _at(day, 1) + timedelta(minutes=rng.randrange(7 * 60))


_CYCLES: dict[int, int] = {}


def _cycle_months(instrument_type: int) -> int:
    if instrument_type not in _CYCLES:
        from services.enterprises.domain.catalogue import kind_of

        kind = kind_of(instrument_type)
        _CYCLES[instrument_type] = kind.cycle_months if kind else 12
    return _CYCLES[instrument_type]
