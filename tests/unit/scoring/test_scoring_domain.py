"""Grades and the points-to-odds scale."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrity.enterprises.v1 import enterprises_pb2
from services.scoring.adapters.policy_file import load_policy
from services.scoring.domain.features import FEATURE_VERSION
from services.scoring.domain.grades import MODEL_VERSION, Grade, GradeCutoffs, GradeLevel, Reason, ScoreScale
from services.scoring.domain.grading import EVENT_GRAIN, replay
from tests.unit.scoring.fakes import registration, uscc

SCALE = ScoreScale(base_score=600, base_odds=50.0, points_to_double_odds=20)


def test_a_new_enterprise_is_graded_from_what_is_known_and_flagged_provisional() -> None:
    policy = load_policy()
    registered = datetime(2024, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    grades = {}
    for size in (enterprises_pb2.SIZE_CLASS_MICRO, enterprises_pb2.SIZE_CLASS_LARGE):
        event = registration(uscc(7), occurred_at=registered)
        event.enterprise_registered.enterprise.size_class = size
        grades[size], _ = replay(policy, [event])
    grade = grades[enterprises_pb2.SIZE_CLASS_MICRO]
    assert grade is not None and grade.provisional
    assert grade.reasons[0].code == "NO_HISTORY"
    assert grade.as_of == registered + EVENT_GRAIN and grade.as_of.tzinfo == UTC
    # No fixed provisional score: the scorecard scores what is known (here the size class).
    large = grades[enterprises_pb2.SIZE_CLASS_LARGE]
    assert large is not None and large.score > grade.score
    assert grade.violation_probability == pytest.approx(policy.score_scale.violation_probability(grade.score))
    assert grade.level == policy.grade_cutoffs.level_for(grade.score)
    assert (grade.model_version, grade.policy_version, grade.feature_version, grade.label) == (
        MODEL_VERSION,
        "policy-v3",
        FEATURE_VERSION,
        "major_or_worse",
    )


def test_a_policy_may_hold_provisional_grades_between_a_floor_and_a_ceiling() -> None:
    policy = load_policy()
    history = [registration(uscc(8), occurred_at=datetime(2024, 3, 1, tzinfo=UTC))]
    free, _ = replay(policy, history)
    assert free is not None and free.level == GradeLevel.B
    for floor, ceiling, expected in ((GradeLevel.C, None, GradeLevel.C), (None, GradeLevel.A, GradeLevel.A)):
        held = replace(policy, provisional=replace(policy.provisional, floor=floor, ceiling=ceiling))
        grade, _ = replay(held, history)
        assert grade is not None and grade.level == expected and grade.provisional
        # The score moves into the level's band, so score, level and probability agree.
        assert held.grade_cutoffs.level_for(grade.score) == expected


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
