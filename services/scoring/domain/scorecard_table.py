"""The `[scorecard]` table of a policy (or of a learned scorecard file): its checks and the Scorecard it
describes. Pure Python; problems go to the policy's Checker, named by key.

    [scorecard]
    version = "..."           # recorded on every grade as its model version
    base_points = 600
    label = "major_or_worse"  # the outcome the points predict (must be the policy's label)

    [scorecard.cutoffs]       # optional: the grade cut-offs that go with these points
    A = 560
    B = 540
    C = 520
    shares = { D = 0.10, C = 0.20, B = 0.40 }   # the target shares they were resolved from, if any

    [[scorecard.features]]    # a numeric feature: bins and their points
    feature = "days_since_last_inspection"
    risk = "increasing"       # more value, more risk: points never rise from bin to bin
    upper_bounds = [30.0, 120.0, inf]
    points = [0, -4, -9]
    code = "LAST_INSPECTION"
    text = "Last inspection {bin} days ago."       # {bin}: the enterprise's bin, e.g. "30-120"
    text_zh = "上次检查在 {bin} 天前。"

    [[scorecard.features]]    # a categorical feature: points per category, `default` for the others
    feature = "industry"
    categories = { F5265 = -12, F52 = -5 }
    default = 0
    hierarchy = [4, 3, 1]     # optional: a code without points scores as its nearest coarser code
    labels = { F52 = "retail" }       # optional words for {category} in the texts
    code = "INDUSTRY"
    text = "Base risk of its industry ({category})."
    text_zh = "所属行业（{category}）的基础风险。"
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from services.scoring.domain.checker import Checker
from services.scoring.domain.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES, RISK_DIRECTION
from services.scoring.domain.grades import LABELS, GradeCutoffs, Reason
from services.scoring.domain.scorecard import (
    CategoryPoints,
    Characteristic,
    NumericBins,
    Scorecard,
    bin_reasons,
    category_reasons,
)

_NUMERIC_KEYS = {"feature", "risk", "upper_bounds", "points", "code", "text", "text_zh"}
_CATEGORY_KEYS = {
    "feature",
    "categories",
    "default",
    "hierarchy",
    "labels",
    "labels_zh",
    "code",
    "text",
    "text_zh",
}


def parse_scorecard(check: Checker, table: dict[str, Any], prefix: str = "scorecard.") -> Scorecard:
    version = check.text(table, "version", prefix=prefix)
    base_points = check.integer(table, "base_points", prefix=prefix)
    label = table.get("label", "")
    if label and label not in LABELS:
        check.problem(prefix + "label", f"must be one of {list(LABELS)}, got {label!r}")
    cutoffs, shares = _cutoffs(check, table, prefix)
    entries = table.get("features")
    if not isinstance(entries, list) or not entries:
        check.problem(prefix + "features", "must be a non-empty array of tables ([[scorecard.features]])")
        return Scorecard(version, base_points, (), label, cutoffs, shares)
    characteristics: list[Characteristic] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"{prefix}features[{index}]."
        if not isinstance(entry, dict):
            check.problem(where.rstrip("."), "must be a table")
            continue
        name = check.text(entry, "feature", prefix=where)
        if name in seen:
            check.problem(where + "feature", f"{name!r} appears twice")
        seen.add(name)
        if name in NUMERIC_FEATURES or name in CATEGORICAL_FEATURES:
            where = f"{prefix}features[{index}] ({name})."  # a person edits the feature, not the index
        code = check.text(entry, "code", prefix=where)
        reason = check.reason(entry, code, where)
        if name in NUMERIC_FEATURES:
            allowed = _NUMERIC_KEYS
            characteristic: Characteristic | None = _numeric(check, entry, name, reason, where)
        elif name in CATEGORICAL_FEATURES:
            allowed = _CATEGORY_KEYS
            characteristic = _categorical(check, entry, name, reason, where)
        else:
            if name:
                known = sorted(NUMERIC_FEATURES + CATEGORICAL_FEATURES)
                check.problem(where + "feature", f"unknown feature {name!r}; the catalogue has {known}")
            continue
        unknown = sorted(set(entry) - allowed)
        if unknown:
            check.problem(where.rstrip("."), f"unknown keys {unknown}; known keys are {sorted(allowed)}")
        if characteristic is not None:
            characteristics.append(characteristic)
    return Scorecard(version, base_points, tuple(characteristics), label, cutoffs, shares)


def _cutoffs(
    check: Checker, table: dict[str, Any], prefix: str
) -> tuple[GradeCutoffs | None, dict[str, float]]:
    if "cutoffs" not in table:
        return None, {}
    where = prefix + "cutoffs."
    cutoff_table = check.table(table, "cutoffs", {"A", "B", "C", "shares"}, prefix=prefix)
    problems = len(check.problems)
    cutoffs = GradeCutoffs(
        a=check.integer(cutoff_table, "A", prefix=where),
        b=check.integer(cutoff_table, "B", prefix=where),
        c=check.integer(cutoff_table, "C", prefix=where),
    )
    shares = check.shares(cutoff_table, "shares", where) if "shares" in cutoff_table else {}
    if len(check.problems) > problems:
        return None, {}
    if not cutoffs.a > cutoffs.b > cutoffs.c:
        check.problem(
            prefix + "cutoffs",
            f"must strictly decrease A > B > C, got A={cutoffs.a} B={cutoffs.b} C={cutoffs.c}",
        )
        return None, {}
    return cutoffs, shares


def _numeric(
    check: Checker, entry: dict[str, Any], name: str, reason: Reason, prefix: str
) -> NumericBins | None:
    bounds, points, risk = entry.get("upper_bounds"), entry.get("points"), entry.get("risk")
    problems = len(check.problems)
    if (
        not isinstance(bounds, list)
        or not bounds
        or not all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
    ):
        check.problem(prefix + "upper_bounds", "must be a non-empty array of numbers ending with inf")
    elif bounds[-1] != math.inf or any(a >= b for a, b in itertools.pairwise(bounds)):
        check.problem(prefix + "upper_bounds", f"must strictly increase and end with inf, got {bounds}")
    if not isinstance(points, list) or not all(
        isinstance(p, int) and not isinstance(p, bool) for p in points
    ):
        check.problem(prefix + "points", "must be an array of integers, one per bin")
    elif isinstance(bounds, list) and len(points) != len(bounds):
        check.problem(prefix + "points", f"has {len(points)} values for {len(bounds)} bins")
    if risk not in ("increasing", "decreasing"):
        check.problem(prefix + "risk", f"must be 'increasing' or 'decreasing', got {risk!r}")
    elif RISK_DIRECTION[name] not in ("auto", risk):
        check.problem(
            prefix + "risk", f"{name} is {RISK_DIRECTION[name]} in risk (the catalogue), got {risk!r}"
        )
    if len(check.problems) > problems:
        return None
    # Monotone in risk: where a higher value means more risk, points never rise from bin to bin.
    steps = list(itertools.pairwise(points))
    monotone = all(a >= b for a, b in steps) if risk == "increasing" else all(a <= b for a, b in steps)
    if not monotone:
        check.problem(prefix + "points", f"must be monotone in risk ({risk}), got {points}")
        return None
    upper_bounds = tuple(float(b) for b in bounds)
    reasons = bin_reasons(reason.code, reason.text, reason.text_zh, upper_bounds)
    return NumericBins(name, upper_bounds, tuple(points), reasons)


def _categorical(
    check: Checker, entry: dict[str, Any], name: str, reason: Reason, prefix: str
) -> CategoryPoints | None:
    categories = entry.get("categories")
    if not isinstance(categories, dict) or not all(
        isinstance(p, int) and not isinstance(p, bool) for p in categories.values()
    ):
        check.problem(prefix + "categories", "must be a table of category name = integer points")
        return None
    hierarchy = entry.get("hierarchy", [])
    if (
        not isinstance(hierarchy, list)
        or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in hierarchy)
        or any(a <= b for a, b in itertools.pairwise(hierarchy))
    ):
        check.problem(prefix + "hierarchy", f"must be decreasing positive prefix lengths, got {hierarchy!r}")
        hierarchy = []
    labels = {}
    for key in ("labels", "labels_zh"):
        value = entry.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            check.problem(prefix + key, "must be a table of category name = words")
            value = {}
        labels[key] = value
    reasons = category_reasons(
        reason.code, reason.text, reason.text_zh, tuple(categories), labels["labels"], labels["labels_zh"]
    )
    default = check.integer(entry, "default", prefix=prefix)
    return CategoryPoints(name, dict(categories), default, reasons, tuple(hierarchy))
