"""Bins of the champion scorecard: numeric features cut at quantiles, categorical ones pooled.

Numeric (REPORT B3.1): candidate upper bounds at the 5 % quantiles of the non-missing training values
(rounded to 4 significant digits), plus the smallest value above the minimum (so a mostly-zero count
still separates "none" from "some"); bounds at or below the minimum are dropped; then the smallest bins
are merged into a neighbour until every bin holds at least min(2 % of the non-missing rows, 200 rows).
No merging for monotone odds: the fit keeps the points monotone by construction.

Categorical (B4): a category is kept when it has at least 200 training rows, 10 violations and 10 clean
inspections. A hierarchical code (industry class, county) that is not kept is replaced by its parent
(services.scoring.domain.scorecard.parent_code) and evaluated again at that level; what is still not kept
is pooled into OTHER, which gets points of its own (the scorecard's `default`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from services.scoring.domain.scorecard import OTHER, parent_code

SMOOTH = 0.5  # added to counts so an all-clean or all-violation bin has finite weights of evidence


@dataclass(frozen=True)
class BinParams:
    candidate_bins: int = 20
    min_bin_share: float = 0.02  # a numeric bin holds at least this share of the non-missing rows ...
    min_bin_rows: int = 200  # ... or this many rows, whichever is fewer
    min_category_rows: int = 200
    min_category_violations: int = 10  # and as many clean inspections


def information_value(rows: np.ndarray, bads: np.ndarray) -> float:
    """Information value of a split of the rows into groups (rows and violations per group), smoothed."""
    rows, bads = np.asarray(rows, dtype=float), np.asarray(bads, dtype=float)
    rows, bads = rows[rows > 0], bads[rows > 0]  # an empty group says nothing
    goods = rows - bads
    pb = (bads + SMOOTH) / (bads.sum() + SMOOTH)
    pg = (goods + SMOOTH) / (goods.sum() + SMOOTH)
    return float(np.sum((pb - pg) * np.log(pb / pg)))


def _round_bound(value: float) -> float:
    return float(f"{value:.4g}")


def numeric_bins(values: np.ndarray, params: BinParams) -> list[float]:
    """Upper bounds of the bins of non-missing `values` (the last is inf): bin i holds values below
    bound i and at or above bound i - 1."""
    if not len(values):
        return [math.inf]
    low = float(values.min())
    candidates = list(np.quantile(values, np.linspace(0, 1, params.candidate_bins + 1)[1:-1]))
    above = values[values > low]
    if len(above):
        candidates.append(float(above.min()))
    bounds = sorted({_round_bound(q) for q in candidates if _round_bound(q) > low})
    edges = [*bounds, math.inf]
    index = np.searchsorted(np.asarray(edges), values, side="right")
    rows = np.bincount(index, minlength=len(edges))[: len(edges)].tolist()
    min_rows = min(max(int(params.min_bin_share * len(values)), 1), params.min_bin_rows)
    while len(edges) > 1:
        small = next((i for i, count in enumerate(rows) if count < min_rows), None)
        if small is None:
            break
        i = small if small + 1 < len(edges) else small - 1  # merge bin i + 1 into bin i
        rows[i] += rows.pop(i + 1)
        del edges[i]
    return edges


def bin_index(column: np.ndarray, upper_bounds: list[float]) -> np.ndarray:
    """The bin of each value (missing values: the last bin; mask them separately)."""
    bins = np.searchsorted(np.asarray(upper_bounds), np.nan_to_num(column, nan=0.0), side="right")
    return np.minimum(bins, len(upper_bounds) - 1)


def trend(values: np.ndarray, labels: np.ndarray) -> str:
    """The direction of a feature's marginal trend (the sign of its rank correlation with the label),
    for a feature whose risk direction is learned ("auto")."""
    if len(values) < 3 or np.all(values == values[0]):
        return "increasing"
    ranks = np.argsort(np.argsort(values, kind="stable"), kind="stable").astype(float)
    correlation = np.corrcoef(ranks, labels)[0, 1]
    return "increasing" if not np.isfinite(correlation) or correlation >= 0 else "decreasing"


@dataclass(frozen=True)
class Pooling:
    """The categories kept for a categorical feature (codes at any level of its hierarchy) and where each
    training value went."""

    kept: dict[str, int]  # category -> training rows (OTHER too, when rows were pooled into it)
    assigned: np.ndarray  # object: per training row, its kept category or OTHER
    hierarchy: tuple[int, ...]
    iv: float


def pool_categories(
    column: np.ndarray, labels: np.ndarray, params: BinParams, hierarchy: tuple[int, ...] = ()
) -> Pooling:
    values = np.array(["MISSING" if v is None else str(v) for v in column], dtype=object)
    kept: dict[str, int] = {}
    assigned = values.copy()
    for level in (None, *hierarchy):
        if level is not None:
            lookup = {a: a if a in kept else parent_code(a, level) for a in set(assigned)}
            assigned = np.array([lookup[a] for a in assigned], dtype=object)
        uniques, inverse = np.unique(assigned.astype(str), return_inverse=True)
        rows = np.bincount(inverse)
        bads = np.bincount(inverse, weights=labels)
        for category, count, bad in zip(uniques, rows, bads, strict=True):
            if (
                category not in kept
                and count >= params.min_category_rows
                and bad >= params.min_category_violations
                and count - bad >= params.min_category_violations
            ):
                kept[category] = int(count)
    assigned[np.array([a not in kept for a in assigned], dtype=bool)] = OTHER
    uniques, inverse = np.unique(assigned.astype(str), return_inverse=True)
    rows = np.bincount(inverse)
    counts = {str(category): int(count) for category, count in zip(uniques, rows, strict=True)}
    iv = information_value(rows, np.bincount(inverse, weights=labels)) if len(uniques) > 1 else 0.0
    return Pooling(counts, assigned, tuple(hierarchy), iv)
