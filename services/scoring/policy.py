"""The grading policy: a versioned TOML file a regulator can read, loaded into a frozen value.

Loading checks everything up front and reports every problem at once, naming the key, so a typo in
the policy stops the service at start-up instead of producing odd grades.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.scoring.domain import GradeCutoffs, GradeLevel, Reason, ScoreScale

POLICY_DIR = Path(__file__).parent / "policy"
DEFAULT_POLICY_PATH = POLICY_DIR / "policy-v0.toml"

_REASON_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_KNOWN_KEYS = {
    "version",
    "score_scale",
    "grade_cutoffs",
    "provisional_level",
    "provisional_score",
    "provisional_reason",
}


class PolicyError(ValueError):
    """The policy file is missing, not TOML, or breaks a rule; the message lists every problem."""


@dataclass(frozen=True)
class Policy:
    version: str
    score_scale: ScoreScale
    grade_cutoffs: GradeCutoffs
    provisional_level: GradeLevel
    provisional_score: int
    provisional_reason: Reason


def load_policy(path: Path = DEFAULT_POLICY_PATH) -> Policy:
    try:
        with path.open("rb") as file:
            document = tomllib.load(file)
    except FileNotFoundError:
        raise PolicyError(f"policy file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy file {path} is not valid TOML: {exc}") from exc
    return parse_policy(document, source=str(path))


def parse_policy(document: dict[str, Any], source: str = "policy") -> Policy:
    """Validates a parsed policy document; raises PolicyError listing every problem found."""
    check = _Checker()
    unknown = sorted(set(document) - _KNOWN_KEYS)
    if unknown:
        check.problem("(top level)", f"unknown keys {unknown}; known keys are {sorted(_KNOWN_KEYS)}")

    version = check.text(document, "version")
    scale_table = check.table(document, "score_scale", {"base_score", "base_odds", "points_to_double_odds"})
    scale = ScoreScale(
        base_score=check.integer(scale_table, "base_score", prefix="score_scale."),
        base_odds=check.positive_number(scale_table, "base_odds", prefix="score_scale."),
        points_to_double_odds=check.integer(
            scale_table, "points_to_double_odds", prefix="score_scale.", minimum=1
        ),
    )
    problems_before_cutoffs = len(check.problems)
    cutoff_table = check.table(document, "grade_cutoffs", {"A", "B", "C"})
    cutoffs = GradeCutoffs(
        a=check.integer(cutoff_table, "A", prefix="grade_cutoffs."),
        b=check.integer(cutoff_table, "B", prefix="grade_cutoffs."),
        c=check.integer(cutoff_table, "C", prefix="grade_cutoffs."),
    )
    cutoffs_valid = len(check.problems) == problems_before_cutoffs
    if cutoffs_valid and not cutoffs.a > cutoffs.b > cutoffs.c:
        cutoffs_valid = False
        check.problem(
            "grade_cutoffs",
            f"must strictly decrease A > B > C, got A={cutoffs.a} B={cutoffs.b} C={cutoffs.c}",
        )

    problems_before_provisional = len(check.problems)
    level_letter = check.text(document, "provisional_level")
    level = GradeLevel.A
    try:
        if level_letter:
            level = GradeLevel.parse(level_letter)
    except ValueError as exc:
        check.problem("provisional_level", str(exc))
    score = check.integer(document, "provisional_score")
    provisional_valid = len(check.problems) == problems_before_provisional
    if cutoffs_valid and provisional_valid and cutoffs.level_for(score) != level:
        check.problem(
            "provisional_score",
            f"{score} points earn grade {cutoffs.level_for(score).name} under grade_cutoffs, "
            f"but provisional_level is {level.name}",
        )

    reason_table = check.table(document, "provisional_reason", {"code", "text", "text_zh"})
    reason = Reason(
        code=check.text(reason_table, "code", prefix="provisional_reason."),
        text=check.text(reason_table, "text", prefix="provisional_reason."),
        text_zh=check.text(reason_table, "text_zh", prefix="provisional_reason."),
    )
    if reason.code and not _REASON_CODE.match(reason.code):
        check.problem("provisional_reason.code", f"must be UPPER_SNAKE_CASE, got {reason.code!r}")

    if check.problems:
        listed = "\n".join(f"  - {key}: {what}" for key, what in check.problems)
        raise PolicyError(f"invalid policy {source}:\n{listed}")
    return Policy(version, scale, cutoffs, level, score, reason)


class _Checker:
    """Reads typed values, collecting a problem per bad key and returning a harmless placeholder."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def problem(self, key: str, what: str) -> None:
        self.problems.append((key, what))

    def table(self, document: dict[str, Any], key: str, allowed: set[str]) -> dict[str, Any]:
        value = document.get(key)
        if not isinstance(value, dict):
            self.problem(key, "missing table" if value is None else f"must be a table, got {value!r}")
            return {}
        # A misplaced key (TOML puts plain keys after a [table] header inside that table) is caught here.
        unknown = sorted(set(value) - allowed)
        if unknown:
            self.problem(key, f"unknown keys {unknown}; known keys are {sorted(allowed)}")
        return value

    def text(self, document: dict[str, Any], key: str, prefix: str = "") -> str:
        value = document.get(key)
        if not isinstance(value, str) or not value.strip():
            self.problem(
                prefix + key, "missing" if value is None else f"must be a non-empty string, got {value!r}"
            )
            return ""
        return value

    def integer(
        self, document: dict[str, Any], key: str, prefix: str = "", minimum: int | None = None
    ) -> int:
        value = document.get(key)
        # bool is an int in Python; `true` is never a sensible number of points.
        if not isinstance(value, int) or isinstance(value, bool):
            self.problem(prefix + key, "missing" if value is None else f"must be an integer, got {value!r}")
            return 1
        if minimum is not None and value < minimum:
            self.problem(prefix + key, f"must be at least {minimum}, got {value}")
            return 1
        return value

    def positive_number(self, document: dict[str, Any], key: str, prefix: str = "") -> float:
        value = document.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
            self.problem(
                prefix + key, "missing" if value is None else f"must be a positive number, got {value!r}"
            )
            return 1.0
        return float(value)
