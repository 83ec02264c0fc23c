"""A small synthetic province for the learning tests: enterprises with a hidden integrity that drives
complaints and inspection outcomes, with the true violation probability of every inspection.

Shaped like demo.province.EnterpriseHistory (uscc, region_code, size_class, integrity, events,
violation_probability) so the tests read either.
"""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2
from shared.uscc import with_check_character

CITIES = [f"6{code:05d}" for code in range(10100, 11100, 100)]
SIZES = ["SIZE_CLASS_MICRO", "SIZE_CLASS_SMALL", "SIZE_CLASS_MEDIUM", "SIZE_CLASS_LARGE"]
SUBJECTS = [
    "SUBJECT_TYPE_TRADE_INSTRUMENT_USER",
    "SUBJECT_TYPE_PREPACKAGED_GOODS_PRODUCER",
    "SUBJECT_TYPE_INSTRUMENT_MANUFACTURER_OR_REPAIRER",
    "SUBJECT_TYPE_CALIBRATION_OR_TESTING_INSTITUTION",
]
_SIZE_RISK = {
    "SIZE_CLASS_MICRO": 0.4,
    "SIZE_CLASS_SMALL": 0.2,
    "SIZE_CLASS_MEDIUM": 0.0,
    "SIZE_CLASS_LARGE": -0.3,
}
_O = inspections_pb2.InspectionOutcome
END = datetime(2026, 10, 1, tzinfo=UTC)


@dataclass
class SyntheticEnterprise:
    uscc: str
    region_code: str
    size_class: str
    integrity: float
    events: list[events_pb2.Event] = field(default_factory=list)
    violation_probability: dict[str, float] = field(default_factory=dict)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


class _Builder:
    def __init__(self, rng: random.Random, uscc: str) -> None:
        self.rng, self.uscc, self.events = rng, uscc, []

    def add(self, source: str, payload: object, moment: datetime) -> None:
        name = payload.DESCRIPTOR.full_name  # type: ignore[attr-defined]
        event = events_pb2.Event(
            id=str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            type=name,
            source=source,
            subject=self.uscc,
        )
        event.occurred_at.FromDatetime(moment)
        event.recorded_at.FromDatetime(moment)
        field_name = next(
            f.name
            for f in events_pb2.Event.DESCRIPTOR.oneofs_by_name["payload"].fields
            if f.message_type.full_name == name
        )
        getattr(event, field_name).CopyFrom(payload)
        self.events.append(event)


def generate(
    enterprises: int, seed: int = 1, years: int = 5, end: datetime = END
) -> Iterator[SyntheticEnterprise]:
    rng = random.Random(seed)
    start = end - timedelta(days=365 * years)
    for index in range(enterprises):
        region = rng.choice(CITIES)
        uscc = with_check_character(f"91{region}{index:09d}"[:17])
        size, subject = rng.choice(SIZES), rng.choice(SUBJECTS)
        integrity = rng.betavariate(4.0, 1.6)
        out = SyntheticEnterprise(uscc, region, size, integrity)
        b = _Builder(rng, uscc)
        registered = start - timedelta(days=rng.uniform(-365 * 3, 365 * 15))
        first = max(registered, start) + timedelta(seconds=rng.uniform(0, 86400))
        profile = enterprises_pb2.Enterprise(
            name=f"enterprises/{uscc}",
            uscc=uscc,
            display_name=f"Enterprise {index}",
            region_code=region,
            subject_type=enterprises_pb2.SubjectType.Value(subject),
            size_class=enterprises_pb2.SizeClass.Value(size),
            registered_date=registered.date().isoformat(),
        )
        b.add("integrity.enterprises", events_pb2.EnterpriseRegistered(enterprise=profile), first)
        badness = 1.0 - integrity
        if rng.random() < integrity * 0.6:
            commitment = events_pb2.CommitmentDeclared()
            commitment.commitment.name = f"enterprises/{uscc}/commitments/1"
            b.add("integrity.enterprises", commitment, first + timedelta(days=rng.uniform(1, 300)))
        # Complaints: a Poisson stream whose rate and substantiation grow with badness.
        moment = first
        while True:
            moment += timedelta(days=rng.expovariate((0.15 + 1.2 * badness) / 365.0))
            if moment >= end:
                break
            name = f"complaints/{uuid.UUID(int=rng.getrandbits(128))}"
            b.add(
                "integrity.complaints", events_pb2.ComplaintFiled(complaint=name, region_code=region), moment
            )
            resolved = moment + timedelta(days=rng.uniform(10, 60))
            if resolved < end:
                substantiated = rng.random() < 0.1 + 0.7 * badness
                b.add(
                    "integrity.complaints",
                    events_pb2.ComplaintResolved(complaint=name, substantiated=substantiated),
                    resolved,
                )
        # Inspections at irregular intervals; the outcome is drawn from the true probability.
        moment = first + timedelta(days=rng.uniform(30, 500))
        while moment < end:
            p = _sigmoid(-3.2 + 5.0 * badness + _SIZE_RISK[size])
            name = f"inspections/{uuid.UUID(int=rng.getrandbits(128))}"
            out.violation_probability[name] = p
            violated = rng.random() < p
            summary = events_pb2.InspectionFindingSummary()
            summary.instruments_checked = rng.randint(0, 8)
            if summary.instruments_checked:
                summary.instruments_overdue = sum(
                    rng.random() < (0.35 if violated else 0.03) for _ in range(summary.instruments_checked)
                )
            outcome = _O.INSPECTION_OUTCOME_COMPLIANT
            if violated:
                roll = rng.random()
                outcome = (
                    _O.INSPECTION_OUTCOME_MINOR_VIOLATION
                    if roll < 0.6
                    else _O.INSPECTION_OUTCOME_MAJOR_VIOLATION
                    if roll < 0.92
                    else _O.INSPECTION_OUTCOME_SERIOUS_VIOLATION
                )
            b.add(
                "integrity.inspections",
                events_pb2.InspectionCompleted(inspection=name, outcome=outcome, summary=summary),
                moment,
            )
            moment += timedelta(days=rng.uniform(120, 700), seconds=rng.uniform(0, 86400))
        b.events.sort(key=lambda e: (e.occurred_at.ToDatetime(), e.id))
        out.events = b.events
        yield out


def moment_of(event: events_pb2.Event) -> datetime:
    return event.occurred_at.ToDatetime(tzinfo=UTC)
