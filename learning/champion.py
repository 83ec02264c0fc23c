"""The champion: a monotone binned scorecard learned from inspection outcomes, exported as the policy's
`[scorecard]` table so the scorer (services.scoring.domain.scorecard) reads it unchanged.

Per numeric feature: candidate bins at quantiles, adjacent bins merged until the violation rate is
monotone in the feature's risk direction (services.scoring.domain.features.RISK_DIRECTION) and every bin
has enough rows. Each bin is encoded by its weight of evidence, WoE = ln(share of clean inspections / share
of violations); a logistic regression over the WoE columns gives each feature a weight, and a feature
whose weight comes out with the wrong sign (more evidence of honesty -> more risk) is dropped and the
model refitted. Categoricals (subject type, size class) are WoE per category.

Missing values: the scorer gives a missing value 0 points. Training gives "missing" its own WoE (never
inspected is informative), and the export moves that bin's points into `base_points`, so a missing value
earns exactly 0 while the score stays the fitted one. Points are scaled with the policy's score scale:
score = base_score + points_to_double_odds * log2(odds of no violation / base_odds).
"""

from __future__ import annotations

import math
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression

from learning.dataset import Dataset
from services.scoring.adapters.policy_file import DEFAULT_POLICY_PATH, load_policy
from services.scoring.domain.features import CATEGORICAL_FEATURES, NUMERIC_FEATURES, RISK_DIRECTION
from services.scoring.domain.policy import Policy
from services.scoring.domain.scorecard import CategoryPoints, NumericBins, Scorecard

_SMOOTH = 0.5  # added to each bin's counts so an all-clean or all-violation bin has a finite WoE


@dataclass(frozen=True)
class ChampionParams:
    candidate_bins: int = 20
    min_bin_share: float = 0.02  # each numeric bin holds at least this share of the non-missing rows
    min_category_rows: int = 50  # rarer categories fall to `default`
    regularization_c: float = 1.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class NumericBinning:
    feature: str
    risk: str  # "increasing" (more value, more risk) or "decreasing"
    upper_bounds: list[float]  # last is inf
    woe: list[float]  # per bin
    missing_woe: float
    bad_rates: list[float] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)

    def encode(self, column: np.ndarray) -> np.ndarray:
        bins = np.searchsorted(np.asarray(self.upper_bounds), column, side="right")
        bins = np.minimum(bins, len(self.woe) - 1)
        encoded = np.asarray(self.woe)[bins]
        encoded[np.isnan(column)] = self.missing_woe
        return encoded


@dataclass
class CategoryBinning:
    feature: str
    woe: dict[str, float]
    default_woe: float  # for a category not seen (often enough) in training
    missing_woe: float

    def encode(self, column: np.ndarray) -> np.ndarray:
        return np.array(
            [self.missing_woe if v is None else self.woe.get(v, self.default_woe) for v in column],
            dtype=float,
        )


def _woe(good: np.ndarray, bad: np.ndarray, total_good: float, total_bad: float) -> np.ndarray:
    return np.log((good + _SMOOTH) / (total_good + _SMOOTH)) - np.log((bad + _SMOOTH) / (total_bad + _SMOOTH))


def _round_bound(value: float) -> float:
    return float(f"{value:.4g}")


def monotone_bins(
    values: np.ndarray, labels: np.ndarray, risk: str, candidate_bins: int, min_rows: int
) -> tuple[list[float], np.ndarray, np.ndarray]:
    """Upper bounds (ending with inf) and per-bin (rows, violations) of non-missing `values`, merged
    until the violation rate never falls (risk "increasing") or never rises ("decreasing") bin to bin."""
    quantiles = np.quantile(values, np.linspace(0, 1, candidate_bins + 1)[1:-1]) if len(values) else []
    low = values.min() if len(values) else 0.0
    bounds = sorted({_round_bound(q) for q in quantiles if _round_bound(q) > low})
    edges = [*bounds, math.inf]
    index = np.searchsorted(np.asarray(edges), values, side="right")
    rows = np.bincount(index, minlength=len(edges))[: len(edges)].astype(float).tolist()
    bads = np.bincount(index, weights=labels, minlength=len(edges))[: len(edges)].tolist()
    sign = 1.0 if risk == "increasing" else -1.0

    def merge(i: int) -> None:  # bin i+1 joins bin i, whose upper bound becomes bin i+1's
        rows[i] += rows.pop(i + 1)
        bads[i] += bads.pop(i + 1)
        del edges[i]

    while len(edges) > 1:
        small = next((i for i, count in enumerate(rows) if count < min_rows), None)
        if small is not None:
            merge(small if small + 1 < len(edges) else small - 1)
            continue
        # The smoothed odds the WoE is computed from, not the raw rates: two bins without a violation
        # have equal raw rates but different WoE (the larger is surer), which would break monotone points.
        rates = [(b + _SMOOTH) / (r - b + _SMOOTH) for b, r in zip(bads, rows, strict=True)]
        wrong = next((i for i in range(len(rates) - 1) if sign * (rates[i + 1] - rates[i]) < 0), None)
        if wrong is None:
            break
        merge(wrong)
    return edges, np.asarray(rows), np.asarray(bads)


def policy_template(path: Path = DEFAULT_POLICY_PATH) -> dict[str, dict[str, Any]]:
    """The built-in scorecard's entries by feature: the reason words a learned scorecard reuses."""
    with path.open("rb") as file:
        document = tomllib.load(file)
    return {entry["feature"]: entry for entry in document["scorecard"]["features"]}


@dataclass
class ChampionModel:
    numeric: list[NumericBinning]
    categorical: list[CategoryBinning]
    coefficients: dict[str, float]  # feature -> logistic weight on its WoE (violation log-odds)
    intercept: float
    dropped: list[str]  # features dropped for a wrong-signed weight


def fit_champion(dataset: Dataset, params: ChampionParams = ChampionParams()) -> ChampionModel:
    labels = dataset.label.astype(float)
    total_bad = float(labels.sum())
    total_good = float(len(labels) - total_bad)
    numeric: list[NumericBinning] = []
    for name in NUMERIC_FEATURES:
        column = dataset.column(name)
        present = ~np.isnan(column)
        if not present.any():
            continue  # never observed in the training window: nothing to learn, no points to give
        min_rows = max(int(params.min_bin_share * present.sum()), 1)
        risk = RISK_DIRECTION[name]
        edges, rows, bads = monotone_bins(
            column[present], labels[present], risk, params.candidate_bins, min_rows
        )
        woe = _woe(rows - bads, bads, total_good, total_bad)
        missing_bad = float(labels[~present].sum())
        missing_rows = float((~present).sum())
        missing_woe = (
            float(_woe(np.array(missing_rows - missing_bad), np.array(missing_bad), total_good, total_bad))
            if missing_rows
            else 0.0
        )
        numeric.append(
            NumericBinning(
                name,
                risk,
                edges,
                woe.tolist(),
                missing_woe,
                (bads / np.maximum(rows, 1)).tolist(),
                rows.astype(int).tolist(),
            )
        )
    categorical: list[CategoryBinning] = []
    for name in CATEGORICAL_FEATURES:
        column = dataset.column(name)
        woe: dict[str, float] = {}
        for category in sorted({v for v in column if v is not None}):
            chosen = column == category
            if chosen.sum() >= params.min_category_rows:
                bad = float(labels[chosen].sum())
                woe[category] = float(
                    _woe(np.array(chosen.sum() - bad), np.array(bad), total_good, total_bad)
                )
        missing = np.array([v is None for v in column])
        missing_woe = 0.0
        if missing.any():
            bad = float(labels[missing].sum())
            missing_woe = float(_woe(np.array(missing.sum() - bad), np.array(bad), total_good, total_bad))
        categorical.append(CategoryBinning(name, woe, 0.0, missing_woe))

    encoders = {b.feature: b for b in [*numeric, *categorical]}
    matrix = np.column_stack([encoders[name].encode(dataset.column(name)) for name in encoders])
    names = list(encoders)
    keep = list(range(len(names)))
    dropped: list[str] = []
    while True:
        model = LogisticRegression(C=params.regularization_c, max_iter=1000)
        model.fit(matrix[:, keep], dataset.label)
        coef = model.coef_[0]
        # Higher WoE = more clean inspections: its weight on the violation log-odds must be negative.
        wrong = [keep[i] for i, c in enumerate(coef) if c >= 0]
        if not wrong or len(wrong) == len(keep):
            break
        dropped.extend(names[i] for i in wrong)
        keep = [i for i in keep if i not in wrong]
    coefficients = {names[i]: float(c) for i, c in zip(keep, coef, strict=True) if c < 0}
    return ChampionModel(numeric, categorical, coefficients, float(model.intercept_[0]), dropped)


# -- export ------------------------------------------------------------------------------------------------


def scorecard_document(model: ChampionModel, policy: Policy, version: str) -> dict[str, Any]:
    """The `[scorecard]` table (as a dict) in the policy file's form, with integer points."""
    scale = policy.score_scale
    factor = scale.points_to_double_odds / math.log(2)
    # Odds of no violation = exp(-(intercept + sum w_i * woe_i)): each feature's points are
    # -factor * w_i * woe_i, and the rest is the base.
    base = scale.base_score + factor * (-model.intercept - math.log(scale.base_odds))
    template = policy_template()
    entries = []
    for binning in model.numeric:
        weight = model.coefficients.get(binning.feature)
        if weight is None:
            continue
        missing_points = -factor * weight * binning.missing_woe
        base += missing_points
        points = [round(-factor * weight * w - missing_points) for w in binning.woe]
        bounds, points = _merge_equal(binning.upper_bounds, points)
        if len(points) == 1 and points[0] == 0:
            continue  # present or missing, the same points: nothing to say
        entries.append(
            {
                "feature": binning.feature,
                "risk": binning.risk,
                "upper_bounds": bounds,
                "points": points,
                **_words(template, binning.feature),
            }
        )
    for binning in model.categorical:
        weight = model.coefficients.get(binning.feature)
        if weight is None:
            continue
        missing_points = -factor * weight * binning.missing_woe
        base += missing_points
        categories = {c: round(-factor * weight * w - missing_points) for c, w in binning.woe.items()}
        entries.append(
            {
                "feature": binning.feature,
                "categories": categories,
                "default": round(-factor * weight * binning.default_woe - missing_points),
                **_words(template, binning.feature),
            }
        )
    return {"version": version, "base_points": round(base), "features": entries}


def _merge_equal(bounds: list[float], points: list[int]) -> tuple[list[float], list[int]]:
    """Adjacent bins with the same points become one (the scorer gives the same either way)."""
    kept_bounds: list[float] = []
    kept_points: list[int] = []
    for bound, value in zip(bounds, points, strict=True):
        if kept_points and kept_points[-1] == value:
            kept_bounds[-1] = bound
        else:
            kept_bounds.append(bound)
            kept_points.append(value)
    return kept_bounds, kept_points


def _words(template: dict[str, dict[str, Any]], feature: str) -> dict[str, str]:
    entry = template[feature]
    return {"code": entry["code"], "text": entry["text"], "text_zh": entry["text_zh"]}


def to_toml(document: dict[str, Any], comment: str = "") -> str:
    """The scorecard document as a TOML `[scorecard]` table (a tiny writer: the form is fixed)."""
    lines = [f"# {line}" for line in comment.splitlines()] if comment else []
    lines += [
        "[scorecard]",
        f"version = {_value(document['version'])}",
        f"base_points = {document['base_points']}",
    ]
    for entry in document["features"]:
        lines += ["", "[[scorecard.features]]"]
        for key, value in entry.items():
            lines.append(f"{key} = {_value(value)}")
    return "\n".join(lines) + "\n"


def _value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "inf" if value == math.inf else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


def load_scorecard(path: Path, policy_path: Path = DEFAULT_POLICY_PATH) -> Scorecard:
    """An exported scorecard, loaded (and checked) exactly as the scoring service loads it."""
    return load_policy(policy_path, scorecard_path=path).scorecard


# -- scoring many rows -----------------------------------------------------------------------------------


def score_dataset(scorecard: Scorecard, dataset: Dataset) -> np.ndarray:
    """Scorecard.score for every row, vectorized with the scorer's own rules (bin i holds values below
    upper_bounds[i]; a missing value earns 0; an unknown category earns `default`). A test checks it
    against Scorecard.score row by row."""
    total = np.full(len(dataset), float(scorecard.base_points))
    for characteristic in scorecard.characteristics:
        column = dataset.column(characteristic.feature)
        if isinstance(characteristic, NumericBins):
            values = column.astype(float)
            bins = np.searchsorted(np.asarray(characteristic.upper_bounds), values, side="right")
            bins = np.minimum(bins, len(characteristic.points) - 1)
            points = np.asarray(characteristic.points, dtype=float)[bins]
            points[np.isnan(values)] = 0.0
        else:
            assert isinstance(characteristic, CategoryPoints)
            lookup = characteristic.points_by_category
            points = np.array(
                [0 if v is None else lookup.get(str(v), characteristic.default) for v in column], dtype=float
            )
        total += points
    return total


def violation_probability(policy: Policy, scores: np.ndarray) -> np.ndarray:
    scale = policy.score_scale
    odds = scale.base_odds * np.power(2.0, (scores - scale.base_score) / scale.points_to_double_odds)
    return 1.0 / (1.0 + odds)


def export_and_reload(
    model: ChampionModel, policy: Policy, version: str, policy_path: Path = DEFAULT_POLICY_PATH
) -> Scorecard:
    """The scorecard as the scoring service would load it: written as TOML, read back through the
    policy loader (with all its checks). Backtests evaluate this, not the float model."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "scorecard.toml"
        path.write_text(to_toml(scorecard_document(model, policy, version)), encoding="utf-8")
        return load_scorecard(path, policy_path)
