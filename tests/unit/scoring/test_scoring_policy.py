"""The policy file: the shipped one loads, and each kind of mistake is reported by key."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import pytest

from services.scoring.adapters.policy_file import DEFAULT_POLICY_PATH, load_policy
from services.scoring.domain.grades import GradeLevel
from services.scoring.domain.policy import PolicyError, parse_policy


@pytest.fixture
def document() -> dict[str, Any]:
    with DEFAULT_POLICY_PATH.open("rb") as file:
        return tomllib.load(file)


def test_shipped_policy_loads() -> None:
    policy = load_policy()
    assert policy.version == "policy-v3"
    assert policy.provisional_level == GradeLevel.B
    assert policy.provisional_reason.code == "NO_HISTORY"
    assert policy.provisional_reason.text_zh == "暂无检查或查实投诉记录，首次检查前为暂定等级。"
    # The documented scale: 600 points at 50:1, 20 points to double the odds.
    assert policy.score_scale.odds(600) == pytest.approx(50)
    assert policy.score_scale.odds(620) == pytest.approx(100)
    assert policy.grade_cutoffs.level_for(policy.provisional_score) == GradeLevel.B


def test_policy_is_frozen() -> None:
    policy = load_policy()
    with pytest.raises(AttributeError):
        policy.version = "other"  # type: ignore[misc]


def _problems(document: dict[str, Any]) -> str:
    with pytest.raises(PolicyError) as caught:
        parse_policy(document, source="test.toml")
    return str(caught.value)


def test_missing_version_is_named(document: dict[str, Any]) -> None:
    del document["version"]
    assert "version: missing" in _problems(document)


def test_unknown_level_is_rejected(document: dict[str, Any]) -> None:
    document["provisional_level"] = "E"
    assert "provisional_level: grade level must be one of A, B, C, D" in _problems(document)


def test_cutoffs_must_decrease(document: dict[str, Any]) -> None:
    document["grade_cutoffs"] = {"A": 580, "B": 640, "C": 540}
    assert "grade_cutoffs: must strictly decrease A > B > C" in _problems(document)


def test_provisional_score_must_match_its_level(document: dict[str, Any]) -> None:
    document["provisional_score"] = 650
    message = _problems(document)
    assert "provisional_score: 650 points earn grade A" in message
    assert "provisional_level is B" in message


def test_non_integer_and_non_positive_numbers(document: dict[str, Any]) -> None:
    document["score_scale"] = {"base_score": "600", "base_odds": 0, "points_to_double_odds": True}
    message = _problems(document)
    assert "score_scale.base_score: must be an integer" in message
    assert "score_scale.base_odds: must be a positive number" in message
    assert "score_scale.points_to_double_odds: must be an integer" in message


def test_reason_code_and_texts(document: dict[str, Any]) -> None:
    document["provisional_reason"] = {"code": "no history", "text": "", "text_zh": "暂定"}
    message = _problems(document)
    assert "provisional_reason.code: must be UPPER_SNAKE_CASE" in message
    assert "provisional_reason.text: must be a non-empty string" in message


def test_every_problem_is_reported_at_once(document: dict[str, Any]) -> None:
    broken = copy.deepcopy(document)
    del broken["version"]
    broken["typo_key"] = 1
    broken["grade_cutoffs"]["D"] = 500
    message = _problems(broken)
    assert "version: missing" in message
    assert "unknown keys ['typo_key']" in message
    assert "grade_cutoffs: unknown keys ['D']" in message


def test_key_after_a_table_header_is_caught(tmp_path: Path) -> None:
    # A plain key written below a [table] belongs to that table in TOML: a classic policy-editing slip.
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    moved = text.replace("provisional_score = 600\n", "") + "provisional_score = 600\n"
    path = tmp_path / "policy.toml"
    path.write_text(moved, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    # It lands in the file's last table (a scorecard feature), which reports it as unknown there.
    assert "unknown keys ['provisional_score']" in str(caught.value)
    assert "provisional_score: missing" in str(caught.value)


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="does not exist"):
        load_policy(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("version = ", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(bad)


def test_shipped_scorecard_covers_the_catalogue_and_is_monotone() -> None:
    from services.scoring.domain.features import FEATURE_NAMES
    from services.scoring.domain.policy import HARD_RULE_KEYS

    policy = load_policy()
    assert sorted(c.feature for c in policy.scorecard.characteristics) == sorted(FEATURE_NAMES)
    assert [rule.code for rule in policy.hard_rules] == list(HARD_RULE_KEYS)
    assert policy.hard_rule("SERIOUS_VIOLATION").level == GradeLevel.D
    assert policy.scorecard.version == "scorecard-v1-expert" and policy.hysteresis_margin > 0


def test_scorecard_points_must_be_monotone_in_risk(document: dict[str, Any]) -> None:
    document["scorecard"]["features"][0]["points"] = [0, -25, -10, -90]
    assert "scorecard.features[0].points: must be monotone in risk (increasing)" in _problems(document)


def test_scorecard_bins_and_features_are_checked(document: dict[str, Any]) -> None:
    document["scorecard"]["features"][0]["upper_bounds"] = [0.5, 1.5, 4.0]
    document["scorecard"]["features"][1]["feature"] = "shoe_size"
    document["scorecard"]["features"][2]["risk"] = "sideways"
    problems = _problems(document)
    assert "scorecard.features[0].upper_bounds: must strictly increase and end with inf" in problems
    assert "scorecard.features[1].feature: unknown feature 'shoe_size'" in problems
    assert "scorecard.features[2].risk: must be 'increasing' or 'decreasing'" in problems


def test_hard_rules_are_all_required(document: dict[str, Any]) -> None:
    del document["hard_rules"]["REFUSED_INSPECTION"]
    document["hard_rules"]["SERIOUS_VIOLATION"]["level"] = "E"
    problems = _problems(document)
    assert "hard_rules.REFUSED_INSPECTION: missing table" in problems
    assert "hard_rules.SERIOUS_VIOLATION.level: grade level must be one of A, B, C, D" in problems


def test_hysteresis_margin_must_fit_the_bands(document: dict[str, Any]) -> None:
    document["hysteresis"]["margin"] = 25
    assert "hysteresis.margin: 25 is wider than half the narrowest grade band" in _problems(document)
