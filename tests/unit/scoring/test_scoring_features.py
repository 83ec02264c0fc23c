"""The feature catalogue v3: severity-aware history, counted findings, registry attributes, and the one-pass
fold that gives the same values as computing each point in time on its own."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

import pytest

from integrity.events.v1 import events_pb2
from operations.demo.province import generate_province
from services.scoring.domain.features import (
    NUMERIC_FEATURES,
    RISK_DIRECTION,
    compute_features,
    features_before_inspections,
)
from services.scoring.domain.grading import EVENT_GRAIN
from shared.events import new_event
from tests.unit.scoring.fakes import Outcome, inspection, registration, uscc

T0 = datetime(2024, 1, 1, 2, tzinfo=UTC)
CODE = uscc(1)


def values_after(events: list, at: datetime) -> dict:
    return compute_features(events, at).values


def test_one_pass_gives_exactly_what_each_point_in_time_gives() -> None:
    """features_before_inspections (training rows, one pass) == compute_features at each inspection, on
    demo histories that carry every kind of event the fold reads."""
    rows = 0
    for history in generate_province(60, seed=21):
        for moment, _, features in features_before_inspections(history.events):
            assert features == compute_features(history.events, moment)
            rows += 1
    assert rows > 50


def test_every_numeric_feature_has_a_risk_direction() -> None:
    assert set(RISK_DIRECTION) == set(NUMERIC_FEATURES)
    assert set(RISK_DIRECTION.values()) <= {"increasing", "decreasing", "auto"}


def test_a_never_inspected_enterprise_has_its_attributes_and_no_history() -> None:
    event = registration(CODE, occurred_at=T0, region="610113", industry="5265")
    values = values_after([event], T0 + timedelta(days=400))
    assert values["ever_inspected"] == "NO" and values["last_x_gap"] == "NEVER"
    assert values["industry"] == "F5265"  # the canonical code, section letter first
    assert values["district"] == "610113"
    assert values["subject_type"] == "SUBJECT_TYPE_TRADE_INSTRUMENT_USER"
    registered = date.fromisoformat(event.enterprise_registered.enterprise.registered_date)
    assert values["enterprise_age_years"] == pytest.approx(
        ((T0 + timedelta(days=400)).date() - registered).days / 365.25
    )
    for name in ("violation_share", "last_outcome", "days_since_last_inspection", "worst_outcome_365"):
        assert values[name] is None
    assert values["minor_decayed"] == values["compliant_decayed"] == 0.0
    # Without a registration the attributes are MISSING (the scorecard learns what that means).
    assert compute_features([], T0).values["industry"] == "MISSING"


def test_severities_are_counted_decayed_and_shared() -> None:
    events = [
        registration(CODE, occurred_at=T0),
        inspection(CODE, T0 + timedelta(days=10), Outcome.INSPECTION_OUTCOME_MINOR_VIOLATION),
        inspection(CODE, T0 + timedelta(days=40), Outcome.INSPECTION_OUTCOME_COMPLIANT),
        inspection(CODE, T0 + timedelta(days=400), Outcome.INSPECTION_OUTCOME_MAJOR_VIOLATION),
        # Tampering is serious whatever the outcome field says.
        inspection(
            CODE, T0 + timedelta(days=420), Outcome.INSPECTION_OUTCOME_MINOR_VIOLATION, tampering_found=True
        ),
    ]
    at = T0 + timedelta(days=425)
    values = values_after(events, at)
    assert values["minor_decayed"] == pytest.approx(0.5 ** (415 / 365))
    assert values["compliant_decayed"] == pytest.approx(0.5 ** (385 / 365))
    assert values["major_decayed"] == pytest.approx(0.5 ** (25 / 365))
    assert values["serious_decayed"] == pytest.approx(0.5 ** (5 / 365))
    assert values["violation_share"] == pytest.approx((3 + 0.5) / 5)
    assert values["major_share"] == pytest.approx((2 + 0.15) / 5)
    assert (values["last_outcome"], values["prev_outcome"]) == (3.0, 2.0)
    # The inspection 20 days after the major one is a follow-up: the cycle's outcome is the major one.
    assert values["last_cycle_outcome"] == 2.0
    assert values["worst_outcome_365"] == 3.0
    assert values["days_since_last_inspection"] == pytest.approx(5)
    assert values["days_since_last_violation"] == pytest.approx(5)
    assert values["followup_due"] == 1.0
    assert values["last_x_gap"] == "S:0-30" and values["ever_inspected"] == "YES"
    later = values_after(events, T0 + timedelta(days=900))
    assert later["last_x_gap"] == "S:366+" and later["followup_due"] == 0.0
    assert later["worst_outcome_365"] == -1.0


def test_counted_findings_are_missing_until_an_inspection_counts_them() -> None:
    events = [
        registration(CODE, occurred_at=T0),
        inspection(CODE, T0 + timedelta(days=5), Outcome.INSPECTION_OUTCOME_MAJOR_VIOLATION),
    ]
    assert values_after(events, T0 + timedelta(days=6))["major_findings_decayed"] is None
    events.append(
        inspection(
            CODE,
            T0 + timedelta(days=100),
            Outcome.INSPECTION_OUTCOME_MAJOR_VIOLATION,
            minor_findings=3,
            major_findings=2,
        )
    )
    values = values_after(events, T0 + timedelta(days=100) + EVENT_GRAIN)
    assert values["minor_findings_decayed"] == pytest.approx(3.0)
    assert values["major_findings_decayed"] == pytest.approx(2.0)
    assert values["serious_findings_decayed"] == 0.0
    year_later = values_after(events, T0 + timedelta(days=465))
    assert year_later["minor_findings_decayed"] == pytest.approx(1.5)


def test_a_granted_serious_violation_repair_removes_the_serious_record() -> None:
    serious = inspection(CODE, T0 + timedelta(days=1), Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION)
    repair = new_event(
        "//integrity/scoring",
        CODE,
        events_pb2.CreditRepairGranted(rule_code="SERIOUS_VIOLATION", reason="整改完毕"),
        occurred_at=T0 + timedelta(days=400),
    )
    events = [registration(CODE, occurred_at=T0), serious]
    before = compute_features(events, T0 + timedelta(days=401))
    after = compute_features([*events, repair], T0 + timedelta(days=401))
    assert before.values["serious_decayed"] > 0 and before.last_serious_violation is not None
    assert after.values["serious_decayed"] == 0.0 and after.last_serious_violation is None


def test_decay_read_later_equals_decay_computed_at_once() -> None:
    """The fold keeps decayed sums as of their last change; reading later decays them further."""
    events = [
        inspection(CODE, T0 + timedelta(days=d), Outcome.INSPECTION_OUTCOME_MINOR_VIOLATION)
        for d in (0, 30, 200)
    ]
    at = T0 + timedelta(days=500)
    expected = sum(0.5 ** ((500 - d) / 365) for d in (0, 30, 200))
    assert values_after(events, at)["minor_decayed"] == pytest.approx(expected, rel=1e-12)
    assert not math.isnan(expected)
