"""The champion: a binned scorecard whose points are fitted per bin, jointly, under monotone constraints.

Per numeric feature (bins from learning.binning): K bins in its risk direction (the catalogue's, or the
sign of its rank correlation with the label when "auto") become K - 1 cumulative steps with weights >= 0
(bin k's log-odds is the sum of the steps up to it), so the points are monotone whatever the other
features do; "missing" has its own free weight. Per categorical feature (pooled as in learning.binning):
a free weight per kept category, the most frequent one at 0. All weights are fitted together by L-BFGS-B,
minimising the mean log-loss + l2/2 * |w|^2 (the intercept free) - sklearn's C = 1 / (l2 * rows).

A step that would come out the wrong way ends at 0, the bound: a constrained fit, not a silent drop.
The model reports every feature as used, zero-weighted (every weight at 0), constant (one value),
single bin (too rare to split) or missing (never observed), with its information value.

Measured against a plain logistic regression on the same rows and features (REPORT of issue 11, A3): a
WoE scorecard (one weight per feature, on the marginal WoE) was 0.002-0.007 AUC behind on NYC; points
per bin, fitted jointly, were ahead on 12 of 12 histories.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import minimize

from learning.binning import BinParams, bin_index, information_value, numeric_bins, pool_categories, trend
from learning.dataset import Dataset
from services.scoring.domain.features import CATEGORICAL_FEATURES, HIERARCHY, NUMERIC_FEATURES, RISK_DIRECTION
from services.scoring.domain.scorecard import OTHER, parent_code

USED, ZERO_WEIGHTED, CONSTANT, SINGLE_BIN, MISSING = (
    "used",
    "zero-weighted",
    "constant",
    "single bin",
    "missing",
)
# Reported, not fitted: a feature whose fitted weights are worth less than one point in every bin, so the
# exported scorecard leaves it out (learning/backtest.py's feature_report).
ROUNDS_TO_ZERO = "rounds to zero"
_ZERO = 1e-6


@dataclass(frozen=True)
class ChampionParams:
    bins: BinParams = field(default_factory=BinParams)
    # The ridge penalty per row; None: the candidate that ranks the latest `validation_share` of the
    # training rows best when fitted on the earlier ones (how much to trust a bin depends on how much
    # data there is: 1e-3 suited NYC's 140,000 rows, a province of 6,000 inspections wants more).
    l2: float | None = None
    l2_candidates: tuple[float, ...] = (1e-3, 3e-3, 1e-2, 3e-2)
    validation_share: float = 0.2
    max_iterations: int = 1000

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FeatureFit:
    """One feature of the champion: its bins (or categories), their fitted log-odds and its status."""

    feature: str
    status: str
    iv: float = 0.0
    risk: str | None = None  # numeric: the direction fitted ("increasing" or "decreasing")
    upper_bounds: list[float] = field(default_factory=list)  # numeric
    logit: list[float] = field(default_factory=list)  # numeric: per bin
    missing_logit: float = 0.0
    categories: dict[str, float] = field(default_factory=dict)  # categorical: log-odds per kept category
    hierarchy: tuple[int, ...] = ()
    rows: int = 0  # training rows with a value (numeric) or in total (categorical)

    @property
    def numeric(self) -> bool:
        return self.feature in NUMERIC_FEATURES


@dataclass
class ChampionModel:
    features: list[FeatureFit]
    intercept: float
    label: str
    train_rows: int
    l2: float = 0.0  # the ridge penalty fitted with
    validation: dict[float, float] = field(default_factory=dict)  # candidate l2 -> AUC on the latest rows

    def fitted(self) -> list[FeatureFit]:
        """The features that carry points (used or zero-weighted), in catalogue order."""
        return [f for f in self.features if f.status in (USED, ZERO_WEIGHTED)]

    def log_odds(self, dataset: Dataset) -> np.ndarray:
        """Violation log-odds of the float model (the exported integer scorecard is what grades)."""
        total = np.full(len(dataset), self.intercept)
        for fit in self.fitted():
            column = dataset.column(fit.feature)
            if fit.numeric:
                values = column.astype(float)
                part = np.asarray(fit.logit)[bin_index(values, fit.upper_bounds)]
                part[np.isnan(values)] = fit.missing_logit
            else:
                other = fit.categories.get(OTHER, 0.0)
                part = np.array([fit.categories.get(category_of(fit, v), other) for v in column])
            total += part
        return total


def category_of(fit: FeatureFit, value: object) -> str:
    """The kept category a value scores as (its own, its nearest coarser kept code, or OTHER)."""
    code = "MISSING" if value is None else str(value)
    if code in fit.categories:
        return code
    for length in fit.hierarchy:
        if parent_code(code, length) in fit.categories:
            return parent_code(code, length)
    return OTHER


class _Design:
    """The fit's parameters: per numeric feature K - 1 steps >= 0 and a free missing weight, per
    categorical feature a free weight per category but the reference. Rows are coded by group (a bin,
    "missing", a category); the log-odds of a row is the intercept plus its groups' weights."""

    def __init__(self) -> None:
        self.codes: list[np.ndarray] = []  # per feature: the global group index of each row
        self.groups = 0
        self.parts: list[
            tuple[FeatureFit, int, int, int, bool]
        ] = []  # fit, group offset, K, theta offset, missing
        self.bounds: list[tuple[float | None, float | None]] = []

    def add_numeric(self, fit: FeatureFit, bins: np.ndarray, missing: np.ndarray) -> None:
        k = len(fit.upper_bounds)
        has_missing = bool(missing.any())
        codes = self.groups + np.where(missing, k, bins)
        self.parts.append((fit, self.groups, k, len(self.bounds), has_missing))
        self.codes.append(codes.astype(np.int32))
        self.groups += k + 1
        self.bounds += [(0.0, None)] * (k - 1) + ([(None, None)] if has_missing else [])

    def add_categorical(self, fit: FeatureFit, index: np.ndarray, count: int) -> None:
        self.parts.append((fit, self.groups, count, len(self.bounds), False))
        self.codes.append((self.groups + index).astype(np.int32))
        self.groups += count
        self.bounds += [(None, None)] * (count - 1)  # category 0, the most frequent, is the reference

    def weights(self, theta: np.ndarray) -> np.ndarray:
        beta = np.zeros(self.groups)
        for fit, offset, k, start, has_missing in self.parts:
            if fit.numeric:
                steps = theta[start : start + k - 1]
                beta[offset : offset + k] = _cumulative(steps, fit.risk == "increasing")
                if has_missing:
                    beta[offset + k] = theta[start + k - 1]
            else:
                beta[offset + 1 : offset + k] = theta[start : start + k - 1]
        return beta

    def gradient(self, dbeta: np.ndarray) -> np.ndarray:
        grad = np.zeros(len(self.bounds))
        for fit, offset, k, start, has_missing in self.parts:
            if fit.numeric:
                block = dbeta[offset : offset + k]
                if fit.risk == "increasing":  # bin j's weight = steps 1..j: step i moves bins i..K-1
                    grad[start : start + k - 1] = np.cumsum(block[::-1])[::-1][1:]
                else:  # bin j's weight = steps j+1..K-1: step i moves bins 0..i-1
                    grad[start : start + k - 1] = np.cumsum(block)[:-1]
                if has_missing:
                    grad[start + k - 1] = dbeta[offset + k]
            else:
                grad[start : start + k - 1] = dbeta[offset + 1 : offset + k]
        return grad


def _cumulative(steps: np.ndarray, increasing: bool) -> np.ndarray:
    if increasing:
        return np.concatenate([[0.0], np.cumsum(steps)])
    return np.concatenate([np.cumsum(steps[::-1])[::-1], [0.0]])


def fit_champion(dataset: Dataset, params: ChampionParams | None = None) -> ChampionModel:
    params = params or ChampionParams()
    labels = dataset.label.astype(float)
    if len(labels) == 0 or labels.min() == labels.max():
        raise ValueError("the champion needs training inspections with and without the violation")
    design = _Design()
    fits: list[FeatureFit] = []
    for name in NUMERIC_FEATURES:
        fits.append(_numeric(design, name, dataset.column(name).astype(float), labels, params.bins))
    for name in CATEGORICAL_FEATURES:
        fits.append(_categorical(design, name, dataset.column(name), labels, params.bins))
    l2, validation = params.l2, {}
    if l2 is None:
        l2, validation = _choose_l2(design, labels, dataset.inspected_at, params)
    intercept, theta = _fit(design, labels, l2, params.max_iterations)
    beta = design.weights(theta)
    for fit, offset, k, _, has_missing in design.parts:
        if fit.numeric:
            fit.logit = beta[offset : offset + k].tolist()
            fit.missing_logit = float(beta[offset + k]) if has_missing else 0.0
            spread = max(fit.logit + ([fit.missing_logit] if has_missing else [])) - min(
                fit.logit + ([fit.missing_logit] if has_missing else [])
            )
        else:
            fit.categories = dict(zip(fit.categories, beta[offset : offset + k].tolist(), strict=True))
            spread = max(fit.categories.values()) - min(fit.categories.values())
        fit.status = USED if spread > _ZERO else ZERO_WEIGHTED
    return ChampionModel(fits, intercept, dataset.label_name, len(dataset), l2, validation)


def _numeric(
    design: _Design, name: str, column: np.ndarray, labels: np.ndarray, params: BinParams
) -> FeatureFit:
    present = ~np.isnan(column)
    if not present.any():
        return FeatureFit(name, MISSING)
    values = column[present]
    direction = RISK_DIRECTION[name]
    risk = direction if direction != "auto" else trend(values, labels[present])
    bounds = numeric_bins(values, params)
    bins = bin_index(column, bounds)
    groups = np.where(present, bins, len(bounds))
    counts = np.bincount(groups, minlength=len(bounds) + 1)
    iv = information_value(counts, np.bincount(groups, weights=labels, minlength=len(bounds) + 1))
    fit = FeatureFit(name, USED, iv, risk, bounds, rows=int(present.sum()))
    if len(bounds) == 1 and present.all():
        fit.status = CONSTANT if np.all(values == values[0]) else SINGLE_BIN
        return fit
    design.add_numeric(fit, bins, ~present)
    return fit


def _categorical(
    design: _Design, name: str, column: np.ndarray, labels: np.ndarray, params: BinParams
) -> FeatureFit:
    pooling = pool_categories(column, labels, params, HIERARCHY.get(name, ()))
    ordered = sorted(pooling.kept, key=lambda c: (-pooling.kept[c], c))
    fit = FeatureFit(
        name, USED, pooling.iv, categories=dict.fromkeys(ordered, 0.0), hierarchy=pooling.hierarchy
    )
    fit.rows = len(column)
    if len(ordered) <= 1:
        fit.status = CONSTANT
        return fit
    position = {category: i for i, category in enumerate(ordered)}
    design.add_categorical(fit, np.array([position[a] for a in pooling.assigned]), len(ordered))
    return fit


def _choose_l2(
    design: _Design, labels: np.ndarray, times: np.ndarray, params: ChampionParams
) -> tuple[float, dict[float, float]]:
    """The candidate penalty whose fit on the earlier training rows ranks the latest ones best (AUC; the
    larger penalty on a tie), and every candidate's AUC."""
    from sklearn.metrics import roc_auc_score

    order = np.argsort(times, kind="stable")
    cut = int(len(order) * (1.0 - params.validation_share))
    earlier, latest = order[:cut], order[cut:]
    fallback = params.l2_candidates[len(params.l2_candidates) // 2]
    if not (0 < labels[earlier].sum() < len(earlier)) or not (0 < labels[latest].sum() < len(latest)):
        return fallback, {}
    scores = {}
    for l2 in params.l2_candidates:
        intercept, theta = _fit(design, labels, l2, params.max_iterations, earlier)
        beta = design.weights(theta)
        z = intercept + sum(beta[codes[latest]] for codes in design.codes)
        scores[l2] = float(roc_auc_score(labels[latest], z))
    best = max(scores, key=lambda l2: (round(scores[l2], 4), l2))
    return best, scores


def _fit(
    design: _Design, labels: np.ndarray, l2: float, max_iterations: int, rows: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """(intercept, parameters) minimising the mean log-loss + l2/2 |parameters|^2 over `rows` (all)."""
    codes_of = design.codes if rows is None else [codes[rows] for codes in design.codes]
    y = labels if rows is None else labels[rows]
    n, p = len(y), len(design.bounds)
    base = math.log(y.mean() / (1.0 - y.mean()))
    if p == 0:
        return base, np.zeros(0)

    def objective(parameters: np.ndarray) -> tuple[float, np.ndarray]:
        theta, intercept = parameters[:p], parameters[p]
        beta = design.weights(theta)
        z = np.full(n, intercept)
        for codes in codes_of:
            z += beta[codes]
        loss = float(np.mean(np.logaddexp(0.0, z) - y * z)) + 0.5 * l2 * float(theta @ theta)
        g = (1.0 / (1.0 + np.exp(-z)) - y) / n
        dbeta = np.zeros(design.groups)
        for codes in codes_of:
            dbeta += np.bincount(codes, weights=g, minlength=design.groups)
        return loss, np.append(design.gradient(dbeta) + l2 * theta, g.sum())

    start = np.append(np.zeros(p), base)
    result = minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=[*design.bounds, (None, None)],
        options={"maxiter": max_iterations, "gtol": 1e-7},
    )
    return float(result.x[p]), np.asarray(result.x[:p])
