"""Training a model version: the champion and the challenger on the inspections before the hold-out date,
tested on those from it on, stored under var/models/<version>/ with a model card (JSON for tools,
Markdown for people: learning/card.py).

The card says what the model learned from and how: the label, the training window and the hold-out, each
feature's status (used, zero-weighted, constant, single bin, missing) with its information value, the cut-
offs resolved from the policy's shares and the shares they give before and after the hard rules.

The version name comes from the data and the parameters (same data, same parameters, same name):
"scorecard-<last training day>-<8 hex of a hash>".
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from learning.backtest import CHAMPION, evaluate, feature_report, psi, split
from learning.card import card_markdown, population_lines
from learning.challenger import ChallengerParams, fit_challenger, save_challenger
from learning.champion import ChampionParams
from learning.dataset import Dataset, to_datetime
from learning.fitting import fit_scorecard
from learning.grading import graded_risk, levels, without_hard_rules
from learning.scorecard_file import load_scorecard, score_dataset, to_toml, violation_probability
from services.scoring.adapters import model_store
from services.scoring.domain.features import FEATURE_VERSION
from services.scoring.domain.policy import Policy

DEFAULT_TEST_SHARE = 0.2


@dataclass(frozen=True)
class TrainedModel:
    version: str
    directory: Path
    card: dict[str, Any]


def dataset_fingerprint(dataset: Dataset, params: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    for array in (dataset.numeric, dataset.severity, dataset.inspected_at.astype("int64")):
        digest.update(np.ascontiguousarray(array).tobytes())
    digest.update("\x1f".join(str(v) for v in dataset.inspection).encode())
    digest.update("\x1f".join(str(v) for v in dataset.categorical.ravel()).encode())
    digest.update(json.dumps(params, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:8]


def default_test_from(inspection_times: np.ndarray, share: float = DEFAULT_TEST_SHARE) -> datetime:
    """The date from which the latest `share` of inspections fall: they are held out to test."""
    ordered = np.sort(inspection_times)
    if not len(ordered):
        raise ValueError("there are no inspections to learn from")
    return to_datetime(ordered[min(int(len(ordered) * (1.0 - share)), len(ordered) - 1)])


def train_models(
    dataset: Dataset,
    population: Dataset,
    policy: Policy,
    var_dir: Path,
    *,
    test_from: datetime,
    champion_params: ChampionParams | None = None,
    challenger_params: ChallengerParams | None = None,
) -> TrainedModel:
    """Trains on the rows before `test_from` and tests on the rows from it; `population` is every
    enterprise registered at `test_from`, with its features as of then: the cut-offs are resolved on it."""
    champion_params = champion_params or ChampionParams()
    challenger_params = challenger_params or ChallengerParams()
    dataset = dataset.relabel(policy.label)
    if len(dataset) == 0 or dataset.label.min() == dataset.label.max():
        raise ValueError(f"training needs inspections with and without the violation ({policy.label})")
    train, test = split(dataset, test_from)
    if not len(train) or not len(test):
        raise ValueError(
            f"the hold-out from {test_from.date()} leaves {len(train)} inspections to train on and "
            f"{len(test)} to test on"
        )
    params = {
        "champion": champion_params.as_dict(),
        "challenger": challenger_params.as_dict(),
        "test_from": test_from.isoformat(),
        "policy": policy.version,
        "label": policy.label,
        "features": FEATURE_VERSION,
    }
    train_until = to_datetime(train.inspected_at.max())
    version = f"scorecard-{train_until:%Y%m%d}-{dataset_fingerprint(dataset, params)}"

    started = time.perf_counter()
    fitted = fit_scorecard(train, population, policy, version, champion_params)
    challenger = fit_challenger(train, challenger_params)
    training_seconds = time.perf_counter() - started

    directory = model_store.version_dir(var_dir, version)
    directory.mkdir(parents=True, exist_ok=True)
    card = _card(version, policy, fitted, train, test, test_from, population, params, training_seconds)
    card["metrics"]["challenger"] = _metrics(test, challenger.predict_proba(test))
    card = _without_nan(card)  # JSON has no NaN: a metric that cannot be computed is null
    comment = "\n".join(
        [
            f"Learned scorecard {version}, label {policy.label}: {card['data']['window']}.",
            *population_lines(card["grades"]),
            "Promote with `integrity model promote`; redo the cut-offs with `integrity model cutoffs`.",
        ]
    )
    scorecard_path = directory / model_store.SCORECARD_FILE
    scorecard_path.write_text(to_toml(fitted.document, comment), encoding="utf-8")
    save_challenger(challenger, directory / model_store.CHALLENGER_FILE)
    write_card(directory, card)
    load_scorecard(scorecard_path)  # the file as the service will read it: fails here, not at promotion
    return TrainedModel(version, directory, card)


def write_card(directory: Path, card: dict[str, Any]) -> None:
    (directory / model_store.CARD_JSON).write_text(
        json.dumps(card, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    (directory / model_store.CARD_MD).write_text(card_markdown(card), encoding="utf-8")


def _card(
    version: str,
    policy: Policy,
    fitted: Any,
    train: Dataset,
    test: Dataset,
    test_from: datetime,
    population: Dataset,
    params: dict[str, Any],
    training_seconds: float,
) -> dict[str, Any]:
    scale = fitted.policy.score_scale
    test_scores = score_dataset(fitted.scorecard, test)
    probability = violation_probability(scale, test_scores)
    metrics = {
        CHAMPION: _metrics(test, probability, psi(score_dataset(fitted.scorecard, train), test_scores))
    }
    for name, graded_policy in (
        ("graded", fitted.policy),
        ("graded, no hard rules", without_hard_rules(fitted.policy)),
    ):
        level, moved = levels(graded_policy, test_scores, test)
        risk = graded_risk(level, violation_probability(scale, moved))
        metrics[name] = _metrics(test, risk, calibrated=False)
    data = {
        "train_from": _day(train.inspected_at.min()),
        "train_to": _day(train.inspected_at.max()),
        "test_from": _day(test.inspected_at.min()),
        "test_to": _day(test.inspected_at.max()),
        "holdout_from": test_from.date().isoformat(),
        "train_rows": len(train),
        "test_rows": len(test),
        "train_violation_rate": train.violation_rate,
        "test_violation_rate": test.violation_rate,
    }
    data["window"] = (
        f"trained on {len(train)} inspections from {data['train_from']} to {data['train_to']}; the "
        f"{len(test)} from {data['holdout_from']} on ({data['test_from']} to {data['test_to']}) were held "
        "out to test it and are not learned from"
    )
    cutoffs = fitted.cutoffs
    return {
        "version": version,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_seconds": round(training_seconds, 2),
        "policy_version": policy.version,
        "features_version": FEATURE_VERSION,
        "label": policy.label,
        "features": feature_report(fitted.model, fitted.document),
        "fit": {
            "l2": fitted.model.l2,
            "validation_auc": {f"{l2:g}": auc for l2, auc in fitted.model.validation.items()},
        },
        "scorecard_features": [entry["feature"] for entry in fitted.document["features"]],
        "params": params,
        "data": data,
        "metrics": metrics,
        "by_region": _grouped(test, np.array([city_of(code) for code in test.region_code]), probability),
        "by_size_class": _grouped(test, test.column("size_class"), probability),
        "grades": {
            "cutoffs": {"A": cutoffs.a, "B": cutoffs.b, "C": cutoffs.c},
            "target_shares": dict(policy.cutoff_shares),
            "population_as_of": test_from.isoformat(),
            "enterprises": len(population),
            **fitted.shares,
        },
    }


def city_of(region_code: str) -> str:
    """The city (prefecture) of a district code: 610112 -> 610100. Cards report metrics by city."""
    return region_code[:4] + "00" if len(region_code) == 6 else region_code


def _without_nan(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {key: _without_nan(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_nan(item) for item in value]
    return value


def _day(moment: np.datetime64) -> str:
    return to_datetime(moment).date().isoformat()


def _metrics(
    test: Dataset, risk: np.ndarray, psi_value: float = math.nan, *, calibrated: bool = True
) -> dict[str, float]:
    """Ranking metrics of `risk`; calibration too when it is a probability."""
    result = evaluate("", test, risk, risk if calibrated else None, psi_value)
    return {
        "auc": result.auc,
        "top_decile_hit_rate": result.top_decile.hit_rate,
        "base_rate": result.top_decile.base_rate,
        "lift": result.top_decile.lift,
        "mean_days_earlier": result.schedule.mean_days_earlier,
        "first_half_share": result.schedule.first_half_share,
        "brier": result.brier,
        "ece": result.ece,
        "psi_train_test": psi_value,
    }


def _grouped(test: Dataset, groups: np.ndarray, probability: np.ndarray) -> dict[str, dict[str, float]]:
    from sklearn.metrics import roc_auc_score

    result = {}
    for group in sorted({str(g) for g in groups}):
        chosen = np.array([str(g) == group for g in groups])
        labels = test.label[chosen]
        auc = (
            float(roc_auc_score(labels, probability[chosen])) if 0 < labels.sum() < len(labels) else math.nan
        )
        result[group] = {
            "rows": int(chosen.sum()),
            "violation_rate": float(labels.mean()),
            "mean_predicted": float(probability[chosen].mean()),
            "auc": auc,
        }
    return result
