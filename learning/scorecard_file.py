"""The champion as the scoring service reads it: a `[scorecard]` table in the policy file's own form, with
integer points, the words of its reasons, its label and its cut-offs; written as TOML, read back through
the domain's checks, and scored over many rows exactly as the scorer scores one.

Points are on the policy's score scale: score = base_score + points_to_double_odds * log2(odds of no
violation / base_odds), so a feature's points are -factor * its log-odds, factor = points_to_double_odds /
ln 2. The scorer gives a missing value 0 points, so each feature's missing points move into base_points
and its bins shift by the same amount (a constant shift keeps them monotone).
"""

from __future__ import annotations

import math
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from learning.champion import ChampionModel
from learning.dataset import Dataset
from learning.words import words_for
from services.scoring.adapters.policy_file import DEFAULT_POLICY_PATH, load_policy
from services.scoring.domain.checker import Checker
from services.scoring.domain.grades import GradeCutoffs, ScoreScale
from services.scoring.domain.policy import Policy
from services.scoring.domain.scorecard import OTHER, CategoryPoints, NumericBins, Scorecard
from services.scoring.domain.scorecard_table import parse_scorecard


def scorecard_document(
    model: ChampionModel,
    scale: ScoreScale,
    version: str,
    cutoffs: GradeCutoffs | None = None,
    shares: dict[str, float] | None = None,
) -> dict[str, Any]:
    """The `[scorecard]` table (as a dict) with integer points, for the model's label."""
    factor = scale.points_to_double_odds / math.log(2)
    base = scale.base_score + factor * (-model.intercept - math.log(scale.base_odds))
    entries = []
    for fit in model.fitted():
        if fit.numeric:
            missing_points = -factor * fit.missing_logit
            base += missing_points
            points = [round(-factor * value - missing_points) for value in fit.logit]
            bounds, points = _merge_equal(fit.upper_bounds, points)
            if len(points) == 1 and points[0] == 0:
                continue  # present or missing, the same points: nothing to say
            entries.append(
                {
                    "feature": fit.feature,
                    "risk": fit.risk,
                    "upper_bounds": bounds,
                    "points": points,
                    **_texts(words_for(fit.feature, fit.risk)),
                }
            )
        else:
            words = words_for(fit.feature)
            categories = {c: round(-factor * v) for c, v in fit.categories.items() if c != OTHER}
            entry: dict[str, Any] = {
                "feature": fit.feature,
                "categories": categories,
                "default": round(-factor * fit.categories.get(OTHER, 0.0)),
            }
            if fit.hierarchy:
                entry["hierarchy"] = list(fit.hierarchy)
            for key in ("labels", "labels_zh"):
                used = {c: text for c, text in words.get(key, {}).items() if c in categories or c == OTHER}
                if used:
                    entry[key] = used
            entries.append({**entry, **_texts(words)})
    document: dict[str, Any] = {"version": version, "base_points": round(base), "label": model.label}
    if cutoffs is not None:
        document["cutoffs"] = {"A": cutoffs.a, "B": cutoffs.b, "C": cutoffs.c}
        if shares:
            document["cutoffs"]["shares"] = dict(shares)
    document["features"] = entries
    return document


def _texts(words: dict[str, Any]) -> dict[str, str]:
    return {"code": words["code"], "text": words["text"], "text_zh": words["text_zh"]}


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


# -- TOML ------------------------------------------------------------------------------------------------


def to_toml(document: dict[str, Any], comment: str = "") -> str:
    """The scorecard document as a TOML `[scorecard]` table (a tiny writer: the form is fixed)."""
    lines = [f"# {line}" if line else "#" for line in comment.splitlines()] if comment else []
    lines.append("[scorecard]")
    for key in ("version", "base_points", "label"):
        if key in document:
            lines.append(f"{key} = {_value(document[key])}")
    if "cutoffs" in document:
        lines += ["", "[scorecard.cutoffs]"]
        lines += [f"{key} = {_value(value)}" for key, value in document["cutoffs"].items()]
    for entry in document["features"]:
        lines += ["", "[[scorecard.features]]"]
        lines += [f"{key} = {_value(value)}" for key, value in entry.items()]
    return "\n".join(lines) + "\n"


_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


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
        items = (f"{k if _BARE_KEY.match(k) else _value(k)} = {_value(v)}" for k, v in value.items())
        return "{ " + ", ".join(items) + " }"
    raise TypeError(f"cannot write {value!r} as TOML")


# -- reading back ----------------------------------------------------------------------------------------


def load_scorecard(path: Path, policy_path: Path = DEFAULT_POLICY_PATH) -> Scorecard:
    """An exported scorecard, loaded (and checked) exactly as the scoring service loads it."""
    return load_policy(policy_path, scorecard_path=path).scorecard


def scorecard_of(document: dict[str, Any]) -> Scorecard:
    """The scorecard a document describes, through the domain's checks of a `[scorecard]` table (its
    label and cut-offs are not held against a policy here); ValueError listing every problem."""
    check = Checker()
    scorecard = parse_scorecard(check, document)
    if check.problems:
        raise ValueError("invalid scorecard:\n" + "\n".join(f"  - {k}: {what}" for k, what in check.problems))
    return scorecard


def reloaded(document: dict[str, Any]) -> Scorecard:
    """The document written as TOML and read back (what the service would read)."""
    import tomllib

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "scorecard.toml"
        path.write_text(to_toml(document), encoding="utf-8")
        with path.open("rb") as file:
            return scorecard_of(tomllib.load(file)["scorecard"])


# -- scoring many rows -----------------------------------------------------------------------------------


def score_dataset(scorecard: Scorecard, dataset: Dataset) -> np.ndarray:
    """Scorecard.score for every row, vectorized with the scorer's own rules (bin i holds values below
    upper_bounds[i]; a missing value earns 0; a category scores as itself, its nearest coarser code with
    points, or `default`). A test checks it against Scorecard.score row by row."""
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
            uniques, inverse = np.unique(
                np.array(["\0" if v is None else str(v) for v in column]), return_inverse=True
            )
            lookup = np.array([0.0 if u == "\0" else characteristic.points_for(u) for u in uniques])
            points = lookup[inverse] if len(uniques) else np.zeros(len(dataset))
        total += points
    return total


def violation_probability(scale: ScoreScale, scores: np.ndarray) -> np.ndarray:
    odds = scale.base_odds * np.power(
        2.0, (np.asarray(scores, dtype=float) - scale.base_score) / scale.points_to_double_odds
    )
    return 1.0 / (1.0 + odds)


def policy_with(policy: Policy, scorecard: Scorecard, cutoffs: GradeCutoffs | None = None) -> Policy:
    """The policy grading with `scorecard` (and its label), at `cutoffs` (default: the scorecard's)."""
    from dataclasses import replace

    return replace(
        policy,
        scorecard=scorecard,
        label=scorecard.label or policy.label,
        grade_cutoffs=cutoffs or scorecard.cutoffs or policy.grade_cutoffs,
    )
