"""The grading policy: what a regulator reads and changes (a versioned TOML file, `policies/*.toml`, read by
`adapters/policy_file.py`), as a frozen value, and the checks a parsed policy document must pass.

Parsing checks everything up front and reports every problem at once, naming the key, so a typo in
the policy stops the service at start-up instead of producing odd grades.

Grade cut-offs are either absolute scores (`A`, `B`, `C`) or target shares of the population per grade
(`shares = { D = 0.10, C = 0.20, B = 0.40 }`, A the rest). Shares are resolved against each learned
scorecard's training population when it is trained (`integrity model cutoffs` redoes it) and the scores
they give are stored in the scorecard (`[scorecard.cutoffs]`); the policy uses those. A scorecard set by
hand (the policy's expert one) carries its own cut-offs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.scoring.domain.checker import Checker
from services.scoring.domain.grades import DEFAULT_LABEL, LABELS, GradeCutoffs, GradeLevel, Reason, ScoreScale
from services.scoring.domain.scorecard import Scorecard
from services.scoring.domain.scorecard_table import parse_scorecard

_KNOWN_KEYS = {
    "version",
    "label",
    "score_scale",
    "grade_cutoffs",
    "provisional",
    "hysteresis",
    "hard_rules",
    "scorecard",
    "overrides",
}
# The hard rules the grading code knows; the policy sets their level, duration and words. A time-bound
# rule reads its evidence from services.scoring.domain.grading.hard_rule_evidence.
HARD_RULE_KEYS: dict[str, set[str]] = {
    "SERIOUS_VIOLATION": {"level", "years", "repair_after_years", "text", "text_zh"},
    "REFUSED_INSPECTION": {"level", "years", "repair_after_years", "text", "text_zh"},
    "FALSE_CAPABILITY_DECLARATION": {"level", "years", "repair_after_years", "text", "text_zh"},
    "MANY_OVERDUE_INSTRUMENTS": {"level", "min_instruments", "min_share", "text", "text_zh"},
    # In force while the enterprise is on the serious-dishonesty list; its removal lifts it.
    "SERIOUS_DISHONESTY_LIST": {"level", "text", "text_zh"},
}
SHARE_LEVELS = ("D", "C", "B")  # target shares are given for these; A has the rest


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
class Provisional:
    """An enterprise with no inspection and no substantiated complaint yet: graded by the scorecard from
    what is known, flagged provisional, with this reason; optionally held between two levels."""

    reason: Reason
    floor: GradeLevel | None = None  # at least this much risk (e.g. B: never A before a first inspection)
    ceiling: GradeLevel | None = None  # at most this much risk


@dataclass(frozen=True)
class Policy:
    version: str
    score_scale: ScoreScale
    # The cut-offs grades use: the policy's own, or the scorecard's (resolved from `cutoff_shares`).
    grade_cutoffs: GradeCutoffs
    provisional: Provisional
    label: str = DEFAULT_LABEL
    # The policy's target shares of D, C and B; empty when its cut-offs are absolute scores.
    cutoff_shares: dict[str, float] = field(default_factory=dict)
    hysteresis_margin: int = 0
    hard_rules: tuple[HardRule, ...] = ()
    scorecard: Scorecard = NO_SCORECARD
    override_default_days: int = 180
    override_max_days: int = 365
    override_reason: Reason = DEFAULT_OVERRIDE_REASON

    def hard_rule(self, code: str) -> HardRule:
        return next(rule for rule in self.hard_rules if rule.code == code)

    @property
    def provisional_reason(self) -> Reason:
        return self.provisional.reason


def parse_policy(document: dict[str, Any], source: str = "policy") -> Policy:
    """Validates a parsed policy document; raises PolicyError listing every problem found."""
    check = Checker()
    unknown = sorted(set(document) - _KNOWN_KEYS)
    if unknown:
        check.problem("(top level)", f"unknown keys {unknown}; known keys are {sorted(_KNOWN_KEYS)}")

    version = check.text(document, "version")
    label = check.text(document, "label")
    if label and label not in LABELS:
        check.problem("label", f"must be one of {list(LABELS)}, got {label!r}")
    scale_table = check.table(document, "score_scale", {"base_score", "base_odds", "points_to_double_odds"})
    scale = ScoreScale(
        base_score=check.integer(scale_table, "base_score", prefix="score_scale."),
        base_odds=check.positive_number(scale_table, "base_odds", prefix="score_scale."),
        points_to_double_odds=check.integer(
            scale_table, "points_to_double_odds", prefix="score_scale.", minimum=1
        ),
    )
    scorecard = NO_SCORECARD
    if "scorecard" in document:
        scorecard = parse_scorecard(check, check.table(document, "scorecard", _SCORECARD_KEYS))
    else:
        check.problem("scorecard", "missing table")
    if label and scorecard.label and scorecard.label != label:
        check.problem(
            "scorecard.label",
            f"scorecard {scorecard.version} predicts {scorecard.label!r}, the policy's label is {label!r}: "
            "train a scorecard for this label",
        )
    cutoffs, shares = _grade_cutoffs(check, document, scorecard)
    provisional = _provisional(check, document)

    hysteresis_table = check.table(document, "hysteresis", {"margin"})
    margin = check.integer(hysteresis_table, "margin", prefix="hysteresis.", minimum=0)
    if cutoffs is not None and margin * 2 > min(cutoffs.a - cutoffs.b, cutoffs.b - cutoffs.c):
        check.problem(
            "hysteresis.margin",
            f"{margin} is wider than half the narrowest grade band (A >= {cutoffs.a}, B >= {cutoffs.b}, "
            f"C >= {cutoffs.c})",
        )
    hard_rules = _hard_rules(check, document)
    overrides = check.table(document, "overrides", {"default_days", "max_days", "code", "text", "text_zh"})
    override_default = check.integer(overrides, "default_days", prefix="overrides.", minimum=1)
    override_max = check.integer(overrides, "max_days", prefix="overrides.", minimum=1)
    if override_default > override_max:
        check.problem(
            "overrides.default_days", f"{override_default} is longer than max_days = {override_max}"
        )
    override_reason = check.reason(
        overrides, check.text(overrides, "code", prefix="overrides."), "overrides."
    )

    if check.problems:
        listed = "\n".join(f"  - {key}: {what}" for key, what in check.problems)
        raise PolicyError(f"invalid policy {source}:\n{listed}")
    assert cutoffs is not None
    return Policy(
        version=version,
        score_scale=scale,
        grade_cutoffs=cutoffs,
        provisional=provisional,
        label=label,
        cutoff_shares=shares,
        hysteresis_margin=margin,
        hard_rules=hard_rules,
        scorecard=scorecard,
        override_default_days=override_default,
        override_max_days=override_max,
        override_reason=override_reason,
    )


_SCORECARD_KEYS = {"version", "base_points", "label", "cutoffs", "features"}


def _grade_cutoffs(
    check: Checker, document: dict[str, Any], scorecard: Scorecard
) -> tuple[GradeCutoffs | None, dict[str, float]]:
    """The cut-offs grades use, and the policy's target shares (empty when it gives absolute scores)."""
    table = check.table(document, "grade_cutoffs", {"A", "B", "C", "shares"})
    if not table:
        return None, {}
    if "shares" in table:
        if set(table) & {"A", "B", "C"}:
            check.problem("grade_cutoffs", "give either shares (relative) or A, B and C (absolute), not both")
            return None, {}
        shares = check.shares(table, "shares", "grade_cutoffs.")
        if not shares or scorecard is NO_SCORECARD:
            return None, shares
        if scorecard.cutoffs is None:
            check.problem(
                "grade_cutoffs.shares",
                f"scorecard {scorecard.version} carries no cut-offs resolved from these shares: run "
                f"`integrity model cutoffs {scorecard.version}`",
            )
            return None, shares
        resolved_from = dict(scorecard.cutoff_shares)
        if resolved_from and any(abs(resolved_from[k] - shares[k]) > 1e-9 for k in SHARE_LEVELS):
            check.problem(
                "grade_cutoffs.shares",
                f"{shares} differ from the shares {resolved_from} scorecard {scorecard.version}'s cut-offs "
                f"were resolved from: run `integrity model cutoffs {scorecard.version}`",
            )
            return None, shares
        return scorecard.cutoffs, shares
    problems = len(check.problems)
    cutoffs = GradeCutoffs(
        a=check.integer(table, "A", prefix="grade_cutoffs."),
        b=check.integer(table, "B", prefix="grade_cutoffs."),
        c=check.integer(table, "C", prefix="grade_cutoffs."),
    )
    if len(check.problems) > problems:
        return None, {}
    if not cutoffs.a > cutoffs.b > cutoffs.c:
        check.problem(
            "grade_cutoffs",
            f"must strictly decrease A > B > C, got A={cutoffs.a} B={cutoffs.b} C={cutoffs.c}",
        )
        return None, {}
    return cutoffs, {}


def _provisional(check: Checker, document: dict[str, Any]) -> Provisional:
    table = check.table(document, "provisional", {"code", "text", "text_zh", "floor", "ceiling"})
    reason = check.reason(table, check.text(table, "code", prefix="provisional."), "provisional.")
    floor = check.level(table, "floor", "provisional.", GradeLevel.A) if "floor" in table else None
    ceiling = check.level(table, "ceiling", "provisional.", GradeLevel.D) if "ceiling" in table else None
    if floor is not None and ceiling is not None and floor > ceiling:
        check.problem("provisional", f"floor {floor.name} is riskier than ceiling {ceiling.name}")
    return Provisional(reason, floor, ceiling)


def _hard_rules(check: Checker, document: dict[str, Any]) -> tuple[HardRule, ...]:
    rules_table = check.table(document, "hard_rules", set(HARD_RULE_KEYS))
    rules = []
    for code, keys in HARD_RULE_KEYS.items():
        prefix = f"hard_rules.{code}."
        if not rules_table:
            break  # check.table reported the missing table
        table = check.table(rules_table, code, keys, prefix="hard_rules.")
        if not table:
            continue
        level = check.level(table, "level", prefix, GradeLevel.D)
        reason = check.reason(table, code, prefix)
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
