"""The grading policy: what a regulator reads and changes (a versioned TOML file, `policies/*.toml`, read by
`adapters/policy_file.py`), as a frozen value, and the checks a parsed policy document must pass.

Parsing checks everything up front and reports every problem at once, naming the key, so a typo in
the policy stops the service at start-up instead of producing odd grades.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from services.scoring.domain.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES
from services.scoring.domain.grades import GradeCutoffs, GradeLevel, Reason, ScoreScale
from services.scoring.domain.scorecard import CategoryPoints, Characteristic, NumericBins, Scorecard

_REASON_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_KNOWN_KEYS = {
    "version",
    "score_scale",
    "grade_cutoffs",
    "provisional_level",
    "provisional_score",
    "provisional_reason",
    "hysteresis",
    "hard_rules",
    "scorecard",
    "overrides",
}
_REASON_KEYS = {"code", "text", "text_zh"}
# The hard rules the grading code knows; the policy sets their level, duration and words.
HARD_RULE_KEYS: dict[str, set[str]] = {
    "SERIOUS_VIOLATION": {"level", "years", "repair_after_years", "text", "text_zh"},
    "REFUSED_INSPECTION": {"level", "years", "repair_after_years", "text", "text_zh"},
    "FALSE_CAPABILITY_DECLARATION": {"level", "years", "repair_after_years", "text", "text_zh"},
    "MANY_OVERDUE_INSTRUMENTS": {"level", "min_instruments", "min_share", "text", "text_zh"},
    # In force while the enterprise is on the serious-dishonesty list; its removal lifts it.
    "SERIOUS_DISHONESTY_LIST": {"level", "text", "text_zh"},
}


class PolicyError(ValueError):
    """The policy file is missing, not TOML, or breaks a rule; the message lists every problem."""


NO_SCORECARD = Scorecard("none", 0, ())
DEFAULT_OVERRIDE_REASON = Reason(
    "REGULATOR_OVERRIDE", "Set by a regulator on appeal.", "监管人员受理申诉后改判。"
)


@dataclass(frozen=True)
class HardRule:
    """A rule that puts an enterprise at `level` or worse, whatever its score."""

    code: str
    level: GradeLevel
    reason: Reason
    # How long the evidence keeps the rule in force (time-bound rules); 0: while the evidence stands.
    years: float = 0.0
    # Credit repair may lift a time-bound rule once its evidence is this old (0: not repairable).
    repair_after_years: float = 0.0
    min_instruments: int = 0
    min_share: float = 0.0


@dataclass(frozen=True)
class Policy:
    version: str
    score_scale: ScoreScale
    grade_cutoffs: GradeCutoffs
    provisional_level: GradeLevel
    provisional_score: int
    provisional_reason: Reason
    # Defaults keep a policy without a scorecard usable for provisional grades only.
    hysteresis_margin: int = 0
    hard_rules: tuple[HardRule, ...] = ()
    scorecard: Scorecard = NO_SCORECARD
    override_default_days: int = 180
    override_max_days: int = 365
    override_reason: Reason = DEFAULT_OVERRIDE_REASON

    def hard_rule(self, code: str) -> HardRule:
        return next(rule for rule in self.hard_rules if rule.code == code)


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

    hysteresis_table = check.table(document, "hysteresis", {"margin"})
    margin = check.integer(hysteresis_table, "margin", prefix="hysteresis.", minimum=0)
    if cutoffs_valid and margin * 2 > min(cutoffs.a - cutoffs.b, cutoffs.b - cutoffs.c):
        check.problem("hysteresis.margin", f"{margin} is wider than half the narrowest grade band")
    hard_rules = _hard_rules(check, document)
    scorecard = _scorecard(check, document)
    overrides = check.table(document, "overrides", {"default_days", "max_days", "code", "text", "text_zh"})
    override_default = check.integer(overrides, "default_days", prefix="overrides.", minimum=1)
    override_max = check.integer(overrides, "max_days", prefix="overrides.", minimum=1)
    if override_default > override_max:
        check.problem(
            "overrides.default_days", f"{override_default} is longer than max_days = {override_max}"
        )
    override_reason = _reason(
        check, overrides, check.text(overrides, "code", prefix="overrides."), "overrides."
    )

    if check.problems:
        listed = "\n".join(f"  - {key}: {what}" for key, what in check.problems)
        raise PolicyError(f"invalid policy {source}:\n{listed}")
    return Policy(
        version,
        scale,
        cutoffs,
        level,
        score,
        reason,
        margin,
        hard_rules,
        scorecard,
        override_default,
        override_max,
        override_reason,
    )


def _reason(check: _Checker, table: dict[str, Any], code: str, prefix: str) -> Reason:
    if code and not _REASON_CODE.match(code):
        check.problem(prefix + "code", f"must be UPPER_SNAKE_CASE, got {code!r}")
    return Reason(code, check.text(table, "text", prefix=prefix), check.text(table, "text_zh", prefix=prefix))


def _level(check: _Checker, table: dict[str, Any], key: str, prefix: str) -> GradeLevel:
    letter = check.text(table, key, prefix=prefix)
    try:
        return GradeLevel.parse(letter) if letter else GradeLevel.D
    except ValueError as exc:
        check.problem(prefix + key, str(exc))
        return GradeLevel.D


def _hard_rules(check: _Checker, document: dict[str, Any]) -> tuple[HardRule, ...]:
    rules_table = check.table(document, "hard_rules", set(HARD_RULE_KEYS))
    rules = []
    for code, keys in HARD_RULE_KEYS.items():
        prefix = f"hard_rules.{code}."
        if not rules_table:
            break  # check.table reported the missing table
        table = check.table(rules_table, code, keys, prefix="hard_rules.")
        if not table:
            continue
        level = _level(check, table, "level", prefix)
        reason = _reason(check, table, code, prefix)
        if "years" in keys:
            years = check.positive_number(table, "years", prefix)
            repair_after = check.positive_number(table, "repair_after_years", prefix)
            if repair_after > years:
                check.problem(prefix + "repair_after_years", f"{repair_after} is longer than years = {years}")
            rules.append(HardRule(code, level, reason, years=years, repair_after_years=repair_after))
        elif "min_instruments" not in keys:
            rules.append(HardRule(code, level, reason))  # in force while its evidence stands
        else:
            rules.append(
                HardRule(
                    code,
                    level,
                    reason,
                    min_instruments=check.integer(table, "min_instruments", prefix, minimum=1),
                    min_share=check.positive_number(table, "min_share", prefix),
                )
            )
    return tuple(rules)


def _scorecard(check: _Checker, document: dict[str, Any]) -> Scorecard:
    table = check.table(document, "scorecard", {"version", "base_points", "features"})
    if not table:
        return NO_SCORECARD
    version = check.text(table, "version", prefix="scorecard.")
    base_points = check.integer(table, "base_points", prefix="scorecard.")
    entries = table.get("features")
    if not isinstance(entries, list) or not entries:
        check.problem("scorecard.features", "must be a non-empty array of tables ([[scorecard.features]])")
        return Scorecard(version, base_points, ())
    characteristics: list[Characteristic] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        prefix = f"scorecard.features[{index}]."
        if not isinstance(entry, dict):
            check.problem(prefix.rstrip("."), "must be a table")
            continue
        name = check.text(entry, "feature", prefix=prefix)
        if name in seen:
            check.problem(prefix + "feature", f"{name!r} appears twice")
        seen.add(name)
        reason = _reason(check, entry, check.text(entry, "code", prefix=prefix), prefix)
        if name in NUMERIC_FEATURES:
            allowed = {"feature", "risk", "upper_bounds", "points", "code", "text", "text_zh"}
            characteristic: Characteristic | None = _numeric(check, entry, name, reason, prefix)
        elif name in CATEGORICAL_FEATURES:
            allowed = {"feature", "categories", "default", "code", "text", "text_zh"}
            characteristic = _categorical(check, entry, name, reason, prefix)
        else:
            if name:
                known = sorted(NUMERIC_FEATURES + CATEGORICAL_FEATURES)
                check.problem(prefix + "feature", f"unknown feature {name!r}; the catalogue has {known}")
            continue
        unknown = sorted(set(entry) - allowed)
        if unknown:
            check.problem(prefix.rstrip("."), f"unknown keys {unknown}; known keys are {sorted(allowed)}")
        if characteristic is not None:
            characteristics.append(characteristic)
    return Scorecard(version, base_points, tuple(characteristics))


def _numeric(
    check: _Checker, entry: dict[str, Any], name: str, reason: Reason, prefix: str
) -> NumericBins | None:
    bounds, points, risk = entry.get("upper_bounds"), entry.get("points"), entry.get("risk")
    problems = len(check.problems)
    if (
        not isinstance(bounds, list)
        or not bounds
        or not all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
    ):
        check.problem(prefix + "upper_bounds", "must be a non-empty array of numbers ending with inf")
    elif bounds[-1] != float("inf") or any(a >= b for a, b in itertools.pairwise(bounds)):
        check.problem(prefix + "upper_bounds", f"must strictly increase and end with inf, got {bounds}")
    if not isinstance(points, list) or not all(
        isinstance(p, int) and not isinstance(p, bool) for p in points
    ):
        check.problem(prefix + "points", "must be an array of integers, one per bin")
    elif isinstance(bounds, list) and len(points) != len(bounds):
        check.problem(prefix + "points", f"has {len(points)} values for {len(bounds)} bins")
    if risk not in ("increasing", "decreasing"):
        check.problem(prefix + "risk", f"must be 'increasing' or 'decreasing', got {risk!r}")
    if len(check.problems) > problems:
        return None
    # Monotone in risk: where a higher value means more risk, points never rise from bin to bin.
    steps = list(itertools.pairwise(points))
    monotone = all(a >= b for a, b in steps) if risk == "increasing" else all(a <= b for a, b in steps)
    if not monotone:
        check.problem(prefix + "points", f"must be monotone in risk ({risk}), got {points}")
        return None
    return NumericBins(name, tuple(float(b) for b in bounds), tuple(points), reason)


def _categorical(
    check: _Checker, entry: dict[str, Any], name: str, reason: Reason, prefix: str
) -> CategoryPoints | None:
    categories = entry.get("categories")
    if not isinstance(categories, dict) or not all(
        isinstance(p, int) and not isinstance(p, bool) for p in categories.values()
    ):
        check.problem(prefix + "categories", "must be a table of category name = integer points")
        return None
    return CategoryPoints(name, dict(categories), check.integer(entry, "default", prefix=prefix), reason)


class _Checker:
    """Reads typed values, collecting a problem per bad key and returning a harmless placeholder."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def problem(self, key: str, what: str) -> None:
        self.problems.append((key, what))

    def table(
        self, document: dict[str, Any], key: str, allowed: set[str], prefix: str = ""
    ) -> dict[str, Any]:
        value = document.get(key)
        key = prefix + key
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
