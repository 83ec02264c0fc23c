"""What every part of an enterprise's story uses: its random generators, its knobs, how an event is
emitted (and, with the record knobs, left off the record), ids, codes, and office hours.

The story itself is told by `operations.demo.province._EnterpriseStory`, put together from the parts in
`instruments.py`, `complaints.py` and `inspections.py`; each part's methods draw from the enterprise's
own generator in the same order as ever, so a seed gives byte-identical events.
"""

from __future__ import annotations

import math
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from google.protobuf.message import Message

from operations.demo.knobs import Knobs
from operations.demo.shaanxi import Sector
from shared.events import Event

ENTERPRISES_SOURCE = "//integrity/enterprises"
COMPLAINTS_SOURCE = "//integrity/complaints"
INSPECTIONS_SOURCE = "//integrity/inspections"

_ID_NAMESPACE = uuid.UUID("6f1d3c1e-5b7a-4f0e-9a51-3c2d8b7e4a10")
_CODE_CHARS = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # public codes of commitments and declarations
DAY = timedelta(days=1)
_REGISTRY = ("enterprise_registered", "instrument_registered")


def sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def working_hours(moment: datetime, rng: random.Random) -> datetime:
    """Inspections happen on a weekday, in the morning or afternoon (UTC+8 office hours)."""
    day = moment.date()
    while day.weekday() >= 5:
        day += DAY
    return at(day, 1) + timedelta(minutes=rng.randrange(7 * 60))


@dataclass
class Instrument:
    name: str
    type: int
    # Intervals [from, to) in which the instrument was "overdue" or had "failed" verification.
    bad: list[tuple[datetime, datetime, str]] = field(default_factory=list)


class Story:
    """One enterprise's profile and history so far (set up by the province's story)."""

    rng: random.Random  # the enterprise's own generator: every draw of the original generator
    knob_rng: random.Random  # the knobs' draws, so the default knobs leave `rng`'s sequence untouched
    knobs: Knobs
    seed: int
    index: int
    start: datetime
    end: datetime
    events: list[Event]
    truth: dict[str, float]  # inspection name -> true P(a violation is found)
    instruments: list[Instrument]
    z: float  # hidden dishonesty
    sector: Sector
    size: int
    uscc: str
    county: str
    display_name: str
    active_from: datetime
    false_capability: bool

    def emit(self, moment: datetime, source: str, field_name: str, payload: Message) -> None:
        if moment >= self.end:
            return  # beyond the window: it has not happened yet
        if self.off_record(moment, field_name):
            return
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

    def off_record(self, moment: datetime, field_name: str) -> bool:
        """Whether the record knobs leave this event out: before the (migrated) record starts, or an
        inspection lost at random. The registry (enterprises and their instruments) is migrated whole."""
        knobs = self.knobs
        record_start = self.start + timedelta(days=365.25 * knobs.record_start_years)
        if knobs.record_start_years > 0 and field_name not in _REGISTRY and moment < record_start:
            return True
        return (
            field_name == "inspection_completed"
            and knobs.record_drop_share > 0
            and self.knob_rng.random() < knobs.record_drop_share
        )

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

    def office_time(self) -> datetime:
        """A random moment in office hours after registration: the UTC date is then China's date, which
        the enterprises API checks declarations against."""
        span = (self.end - self.active_from).total_seconds()
        return working_hours(self.active_from + DAY + timedelta(seconds=self.rng.uniform(0, span)), self.rng)
