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
    assert policy.version == "policy-v3" and policy.label == "major_or_worse"
    assert policy.provisional.reason.code == "NO_HISTORY"
    assert policy.provisional.reason.text_zh == "暂无检查或查实投诉记录：首次检查前，按已知信息暂定等级。"
    assert policy.provisional.floor is None and policy.provisional.ceiling is None
    # The documented scale: 600 points at 50:1, 20 points to double the odds.
    assert policy.score_scale.odds(600) == pytest.approx(50)
    assert policy.score_scale.odds(620) == pytest.approx(100)
    # Relative cut-offs; the expert scorecard carries cut-offs set by hand.
    assert policy.cutoff_shares == {"D": 0.10, "C": 0.20, "B": 0.40}
    assert (policy.grade_cutoffs.a, policy.grade_cutoffs.b, policy.grade_cutoffs.c) == (640, 580, 540)


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


def test_unknown_level_and_label_are_rejected(document: dict[str, Any]) -> None:
    document["provisional"]["floor"] = "E"
    document["label"] = "any"
    problems = _problems(document)
    assert "provisional.floor: grade level must be one of A, B, C, D" in problems
    assert "label: must be one of ['major_or_worse', 'non_compliant'], got 'any'" in problems


def test_a_provisional_floor_and_ceiling_are_read_and_must_be_in_order(document: dict[str, Any]) -> None:
    document["provisional"].update(floor="B", ceiling="C")
    policy = parse_policy(document)
    assert (policy.provisional.floor, policy.provisional.ceiling) == (GradeLevel.B, GradeLevel.C)
    document["provisional"].update(floor="D", ceiling="B")
    assert "provisional: floor D is riskier than ceiling B" in _problems(document)


def test_absolute_cutoffs_must_decrease(document: dict[str, Any]) -> None:
    document["grade_cutoffs"] = {"A": 640, "B": 580, "C": 540}
    assert parse_policy(document).cutoff_shares == {}
    document["grade_cutoffs"] = {"A": 580, "B": 640, "C": 540}
    assert "grade_cutoffs: must strictly decrease A > B > C" in _problems(document)
    document["grade_cutoffs"] = {"A": 640, "B": 580, "C": 540, "shares": {"D": 0.1, "C": 0.2, "B": 0.4}}
    assert "grade_cutoffs: give either shares (relative) or A, B and C (absolute), not both" in _problems(
        document
    )


def test_target_shares_are_checked(document: dict[str, Any]) -> None:
    document["grade_cutoffs"] = {"shares": {"D": 0.5, "C": 0.3, "B": 0.3}}
    assert "grade_cutoffs.shares: D + C + B must leave a share for A" in _problems(document)
    document["grade_cutoffs"] = {"shares": {"D": 0.1, "C": 1.2, "B": 0.3}}
    assert "grade_cutoffs.shares.C: must be a share between 0 and 1, got 1.2" in _problems(document)
    document["grade_cutoffs"] = {"shares": {"D": 0.1, "B": 0.3}}
    assert "grade_cutoffs.shares: must be a table of D, C and B shares" in _problems(document)


def test_relative_cutoffs_come_from_the_scorecard_resolved_from_the_same_shares(
    document: dict[str, Any],
) -> None:
    learned = document["scorecard"]
    learned["cutoffs"] = {"A": 610, "B": 590, "C": 570, "shares": {"D": 0.1, "C": 0.2, "B": 0.4}}
    policy = parse_policy(document)
    assert (policy.grade_cutoffs.a, policy.grade_cutoffs.b, policy.grade_cutoffs.c) == (610, 590, 570)
    # Shares changed since the scorecard's cut-offs were resolved: they must be resolved again.
    document["grade_cutoffs"] = {"shares": {"D": 0.15, "C": 0.2, "B": 0.4}}
    problems = _problems(document)
    assert "were resolved from: run `integrity model cutoffs scorecard-v2-expert`" in problems
    # A scorecard without cut-offs cannot grade under relative cut-offs.
    del learned["cutoffs"]
    assert "carries no cut-offs resolved from these shares" in _problems(document)


def test_a_scorecard_for_another_label_does_not_load(document: dict[str, Any]) -> None:
    document["scorecard"]["label"] = "non_compliant"
    assert "predicts 'non_compliant', the policy's label is 'major_or_worse'" in _problems(document)


def test_non_integer_and_non_positive_numbers(document: dict[str, Any]) -> None:
    document["score_scale"] = {"base_score": "600", "base_odds": 0, "points_to_double_odds": True}
    message = _problems(document)
    assert "score_scale.base_score: must be an integer" in message
    assert "score_scale.base_odds: must be a positive number" in message
    assert "score_scale.points_to_double_odds: must be an integer" in message


def test_reason_code_and_texts(document: dict[str, Any]) -> None:
    document["provisional"] = {"code": "no history", "text": "", "text_zh": "暂定"}
    message = _problems(document)
    assert "provisional.code: must be UPPER_SNAKE_CASE" in message
    assert "provisional.text: must be a non-empty string" in message


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
    moved = text.replace('label = "major_or_worse"\n', "", 1) + 'label = "major_or_worse"\n'
    path = tmp_path / "policy.toml"
    path.write_text(moved, encoding="utf-8")
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    # It lands in the file's last table (a scorecard feature), which reports it as unknown there.
    assert "unknown keys ['label']" in str(caught.value)
    assert "  - label: missing" in str(caught.value)


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="does not exist"):
        load_policy(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("version = ", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(bad)


def test_shipped_rules_and_scorecard() -> None:
    from services.scoring.domain.policy import HARD_RULE_KEYS

    policy = load_policy()
    assert [rule.code for rule in policy.hard_rules] == list(HARD_RULE_KEYS)
    # A serious violation holds an enterprise at C or worse (D cost too much ranking, issue 11).
    assert policy.hard_rule("SERIOUS_VIOLATION").level == GradeLevel.C
    assert policy.hard_rule("REFUSED_INSPECTION").level == GradeLevel.D
    assert policy.scorecard.version == "scorecard-v2-expert" and policy.hysteresis_margin > 0
    assert policy.scorecard.label == policy.label


def test_scorecard_points_must_be_monotone_in_risk(document: dict[str, Any]) -> None:
    document["scorecard"]["features"][1]["points"] = [0, -60, -35]
    problem = "scorecard.features[1] (major_decayed).points: must be monotone in risk (increasing)"
    assert problem in _problems(document)


def test_a_fixed_risk_direction_of_the_catalogue_is_kept(document: dict[str, Any]) -> None:
    entry = document["scorecard"]["features"][1]  # major_decayed: more of it, more risk
    entry.update(risk="decreasing", points=[-60, -35, 0])
    problem = "scorecard.features[1] (major_decayed).risk: major_decayed is increasing in risk"
    assert problem in _problems(document)


def test_scorecard_bins_and_features_are_checked(document: dict[str, Any]) -> None:
    document["scorecard"]["features"][0]["upper_bounds"] = [0.5, 1.5, 4.0]
    document["scorecard"]["features"][1]["feature"] = "shoe_size"
    document["scorecard"]["features"][2]["risk"] = "sideways"
    problems = _problems(document)
    bounds = "scorecard.features[0] (serious_decayed).upper_bounds: must strictly increase and end with inf"
    assert bounds in problems
    assert "scorecard.features[1].feature: unknown feature 'shoe_size'" in problems
    assert "scorecard.features[2] (minor_decayed).risk: must be 'increasing' or 'decreasing'" in problems


def test_hard_rules_are_all_required(document: dict[str, Any]) -> None:
    del document["hard_rules"]["REFUSED_INSPECTION"]
    document["hard_rules"]["SERIOUS_VIOLATION"]["level"] = "E"
    problems = _problems(document)
    assert "hard_rules.REFUSED_INSPECTION: missing table" in problems
    assert "hard_rules.SERIOUS_VIOLATION.level: grade level must be one of A, B, C, D" in problems


def test_hysteresis_margin_must_fit_the_bands(document: dict[str, Any]) -> None:
    document["hysteresis"]["margin"] = 25
    assert "hysteresis.margin: 25 is wider than half the narrowest grade band" in _problems(document)
