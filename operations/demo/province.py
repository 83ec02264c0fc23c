"""A synthetic province: enterprises whose hidden integrity drives what happens to them over the years.

Each enterprise gets a hidden dishonesty `z` (standard normal; its integrity is the normal CDF of -z, so
integrity is uniform on (0, 1)). Dishonesty, and a little of size and sector, sets the probability that
an inspection finds a violation; the same dishonesty makes complaints more frequent and more often
substantiated, verification of instruments later (so more instruments are overdue at any moment),
commitments rarer and capability declarations more often false, and rectification later. Outcomes are
drawn from that probability, which is kept per inspection as the truth a backtest can be compared with.

Nothing here is fitted to real data: the rates are plausible guesses (see demo/shaanxi.py), chosen so
that a model has something real to learn and a reader can tell a good ranking from a bad one. What
differs between real places is a knob (`knobs.py`): the defaults are this province.

Deterministic: an enterprise's history depends only on (seed, its index, the window, the knobs), through
its own random generators, and event ids are uuid5 names of the same. Enterprises stream one at a time,
so a province of a million never sits in memory at once. The story is told in parts: the enterprise and
its declarations here, its instruments (`instruments.py`), complaints (`complaints.py`) and inspections
(`inspections.py`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from statistics import NormalDist

from integrity.enterprises.v1 import enterprises_pb2 as epb
from integrity.events.v1 import events_pb2
from operations.demo.complaints import ComplaintsStory
from operations.demo.inspections import InspectionsStory
from operations.demo.instruments import InstrumentsStory
from operations.demo.knobs import DEFAULT_KNOBS, Knobs
from operations.demo.shaanxi import CITIES, SECTORS, SIZE_MIX, TRADE_NAMES, Sector
from operations.demo.story import ENTERPRISES_SOURCE, Instrument, at, sigmoid
from shared.events import Event
from shared.uscc import with_check_character

DEFAULT_END = datetime(2026, 10, 1, tzinfo=UTC)
EARLIEST_REGISTRATION = date(1992, 1, 1)  # the oldest firms of the demo

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_NORMAL = NormalDist()


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
    knobs: Knobs = DEFAULT_KNOBS,
) -> Iterator[EnterpriseHistory]:
    """Streams the province's enterprises with their histories over the `years` before `end`."""
    if enterprises < 0 or years < 1:
        raise ValueError("enterprises must be >= 0 and years >= 1")
    start = end - timedelta(days=round(365.25 * years))
    for index in range(enterprises):
        yield _EnterpriseStory(seed, index, start, end, knobs).tell()
        if on_progress is not None:
            on_progress(1)


def _weighted(rng: random.Random, weights: dict) -> object:  # type: ignore[type-arg]
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class _EnterpriseStory(InstrumentsStory, ComplaintsStory, InspectionsStory):
    """One enterprise's profile and history, drawn from its own random generator."""

    def __init__(
        self, seed: int, index: int, start: datetime, end: datetime, knobs: Knobs = DEFAULT_KNOBS
    ) -> None:
        self.rng = random.Random(f"integrity-demo:{seed}:{index}")
        # The knobs' draws come from a stream of their own, so the default knobs change nothing in `rng`'s.
        self.knob_rng = random.Random(f"integrity-demo-knobs:{seed}:{index}")
        self.knobs = knobs
        self.seed, self.index, self.start, self.end = seed, index, start, end
        self.events: list[Event] = []
        self.truth: dict[str, float] = {}
        self.instruments: list[Instrument] = []
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
        self.active_from = max(start, at(self.registered, 9)) + timedelta(minutes=rng.randrange(600))
        self.display_name = f"{city_name}{rng.choice(TRADE_NAMES)}{rng.choice(self.sector.name_suffixes)}"
        self.false_capability = False
        self.inspected_before = False
        self._last_complaint = ""  # the complaint a repeat report points to

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
        # Drawn here, where the original drew it inside the Enterprise below: the same draw in the same order.
        self.industry_code = self.rng.choice(self.sector.industry_codes)
        enterprise = epb.Enterprise(
            name=f"enterprises/{self.uscc}",
            uscc=self.uscc,
            display_name=f"{self.display_name}有限公司"
            if not self.display_name.endswith("公司")
            else self.display_name,
            region_code=self.county,
            industry_code=self.industry_code,
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
