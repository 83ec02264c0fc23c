"""Grades and the points-to-odds scale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.scoring.adapters.policy_file import load_policy
from services.scoring.domain.features import FEATURE_VERSION
from services.scoring.domain.grades import MODEL_VERSION, Grade, GradeCutoffs, GradeLevel, Reason, ScoreScale
from services.scoring.domain.grading import grade_for_new_enterprise

SCALE = ScoreScale(base_score=600, base_odds=50.0, points_to_double_odds=20)


def test_provisional_grade_for_a_new_enterprise() -> None:
    policy = load_policy()
    registered = datetime(2024, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    grade = grade_for_new_enterprise(policy, as_of=registered)
    assert grade.level == GradeLevel.B
    assert grade.score == 600
    assert grade.provisional
    assert [r.code for r in grade.reasons] == ["NO_HISTORY"]
    assert grade.as_of == registered and grade.as_of.tzinfo == UTC
    assert grade.violation_probability == pytest.approx(1 / 51)
    assert (grade.model_version, grade.policy_version, grade.feature_version) == (
        MODEL_VERSION,
        "policy-v3",
        FEATURE_VERSION,
    )


def test_scale_doubles_odds_every_twenty_points() -> None:
    assert SCALE.violation_probability(600) == pytest.approx(1 / 51)
    assert SCALE.violation_probability(580) == pytest.approx(1 / 26)
    assert SCALE.violation_probability(620) == pytest.approx(1 / 101)


@given(st.floats(min_value=300, max_value=900))
def test_score_and_probability_are_inverse_and_monotone(score: float) -> None:
    probability = SCALE.violation_probability(score)
    assert SCALE.score_for(probability) == pytest.approx(score, abs=1e-6)
    assert SCALE.violation_probability(score + 1) < probability


def test_cutoffs() -> None:
    cutoffs = GradeCutoffs(a=640, b=580, c=540)
    assert [cutoffs.level_for(s) for s in (700, 640, 639, 580, 579, 540, 539)] == [
        GradeLevel.A,
        GradeLevel.A,
        GradeLevel.B,
        GradeLevel.B,
        GradeLevel.C,
        GradeLevel.C,
        GradeLevel.D,
    ]


def test_grade_carries_at_most_four_reasons() -> None:
    reason = Reason("X", "x", "x")
    with pytest.raises(ValueError, match="at most 4 reasons"):
        Grade(GradeLevel.C, 550, False, (reason,) * 5, datetime.now(UTC), 0.1, "policy-v0")


def test_grade_needs_an_aware_as_of() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Grade(GradeLevel.C, 550, False, (), datetime(2024, 1, 1), 0.1, "policy-v0")
    with pytest.raises(ValueError, match="timezone-aware"):
        grade_for_new_enterprise(load_policy(), datetime(2024, 1, 1))
