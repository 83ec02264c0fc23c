"""Training a model version: champion and challenger on the earlier inspections, tested on the latest
ones, stored under var/models/<version>/ with a model card (JSON for tools, Markdown for people).

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

from learning.backtest import evaluate, psi, split
from learning.challenger import ChallengerParams, fit_challenger, save_challenger
from learning.champion import (
    ChampionParams,
    fit_champion,
    load_scorecard,
    score_dataset,
    scorecard_document,
    to_toml,
    violation_probability,
)
from learning.dataset import Dataset, to_datetime
from services.scoring.adapters import model_store
from services.scoring.domain.features import CATEGORICAL_FEATURES, FEATURE_VERSION, NUMERIC_FEATURES
from services.scoring.domain.policy import Policy

DEFAULT_TEST_SHARE = 0.2


@dataclass(frozen=True)
class TrainedModel:
    version: str
    directory: Path
    card: dict[str, Any]


def dataset_fingerprint(dataset: Dataset, params: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    for array in (dataset.numeric, dataset.label, dataset.inspected_at.astype("int64")):
        digest.update(np.ascontiguousarray(array).tobytes())
    for array in (dataset.inspection, dataset.subject_type, dataset.size_class):
        digest.update("\x1f".join("" if v is None else str(v) for v in array).encode())
    digest.update(json.dumps(params, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:8]


def default_test_from(dataset: Dataset, share: float = DEFAULT_TEST_SHARE) -> datetime:
    """The date from which the latest `share` of inspections fall: they are the test window."""
    ordered = np.sort(dataset.inspected_at)
    return to_datetime(ordered[min(int(len(ordered) * (1.0 - share)), len(ordered) - 1)])


def train_models(
    dataset: Dataset,
    policy: Policy,
    var_dir: Path,
    *,
    test_from: datetime | None = None,
    champion_params: ChampionParams | None = None,
    challenger_params: ChallengerParams | None = None,
) -> TrainedModel:
    champion_params = champion_params or ChampionParams()
    challenger_params = challenger_params or ChallengerParams()
    if len(dataset) == 0 or dataset.label.min() == dataset.label.max():
        raise ValueError("training needs inspections with and without violations")
    test_from = test_from or default_test_from(dataset)
    train, test = split(dataset, test_from)
    if not len(train) or not len(test):
        raise ValueError(
            f"test window from {test_from.date()} leaves {len(train)} train and {len(test)} test rows"
        )
    params = {
        "champion": champion_params.as_dict(),
        "challenger": challenger_params.as_dict(),
        "test_from": test_from.isoformat(),
        "policy": policy.version,
        "features": FEATURE_VERSION,
    }
    train_until = to_datetime(train.inspected_at.max())
    version = f"scorecard-{train_until:%Y%m%d}-{dataset_fingerprint(dataset, params)}"
    directory = model_store.version_dir(var_dir, version)
    directory.mkdir(parents=True, exist_ok=True)

    started = time.perf_counter()
    champion = fit_champion(train, champion_params)
    document = scorecard_document(champion, policy, version)
    comment = (
        f"Learned scorecard {version}: trained on {len(train)} inspections up to {train_until.date()}.\n"
        "Load with services.scoring.adapters.policy_file.load_policy(scorecard_path=...); promote with "
        "`integrity model promote`."
    )
    scorecard_path = directory / model_store.SCORECARD_FILE
    scorecard_path.write_text(to_toml(document, comment), encoding="utf-8")
    scorecard = load_scorecard(scorecard_path)  # the exported file, checked by the policy loader
    challenger = fit_challenger(train, challenger_params)
    save_challenger(challenger, directory / model_store.CHALLENGER_FILE)
    training_seconds = time.perf_counter() - started

    test_scores = score_dataset(scorecard, test)
    champion_probability = violation_probability(policy, test_scores)
    challenger_probability = challenger.predict_proba(test)
    card: dict[str, Any] = {
        "version": version,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "training_seconds": round(training_seconds, 2),
        "policy_version": policy.version,
        "features_version": FEATURE_VERSION,
        "features": list(NUMERIC_FEATURES + CATEGORICAL_FEATURES),
        "scorecard_features": [entry["feature"] for entry in document["features"]],
        "dropped_features": champion.dropped,
        "params": params,
        "data": {
            "train_from": _day(train.inspected_at.min()),
            "train_to": _day(train.inspected_at.max()),
            "test_from": _day(test.inspected_at.min()),
            "test_to": _day(test.inspected_at.max()),
            "train_rows": len(train),
            "test_rows": len(test),
            "train_violation_rate": train.violation_rate,
            "test_violation_rate": test.violation_rate,
        },
        "metrics": {
            "champion": _metrics(
                test, champion_probability, psi(score_dataset(scorecard, train), test_scores)
            ),
            "challenger": _metrics(test, challenger_probability),
        },
        "by_region": _grouped(
            test, np.array([city_of(code) for code in test.region_code]), champion_probability
        ),
        "by_size_class": _grouped(test, test.size_class, champion_probability),
        "grades": _grade_shares(dataset, scorecard, policy),
    }
    card = _without_nan(card)  # JSON has no NaN: a metric that cannot be computed is null
    (directory / model_store.CARD_JSON).write_text(
        json.dumps(card, indent=2, ensure_ascii=False), encoding="utf-8"
    )
    (directory / model_store.CARD_MD).write_text(card_markdown(card), encoding="utf-8")
    return TrainedModel(version, directory, card)


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


def _metrics(test: Dataset, probability: np.ndarray, psi_value: float = math.nan) -> dict[str, float]:
    result = evaluate("", test, probability, probability, psi_value)
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
    result = {}
    for group in sorted({str(g) for g in groups}):
        chosen = np.array([str(g) == group for g in groups])
        labels = test.label[chosen]
        auc = math.nan
        if 0 < labels.sum() < len(labels):
            from sklearn.metrics import roc_auc_score

            auc = float(roc_auc_score(labels, probability[chosen]))
        result[group] = {
            "rows": int(chosen.sum()),
            "violation_rate": float(labels.mean()),
            "mean_predicted": float(probability[chosen].mean()),
            "auc": auc,
        }
    return result


def _grade_shares(dataset: Dataset, scorecard: Any, policy: Policy) -> dict[str, Any]:
    """Share of enterprises per grade at the policy's cut-offs, by score alone (hard rules aside), each
    enterprise scored on its latest inspection's features."""
    latest: dict[str, int] = {}
    for row in np.argsort(dataset.inspected_at, kind="stable"):
        latest[dataset.uscc[row]] = int(row)
    rows = np.fromiter(latest.values(), dtype=np.int64)
    scores = score_dataset(scorecard, dataset.subset(rows))
    levels = [policy.grade_cutoffs.level_for(score).name for score in scores]
    cutoffs = policy.grade_cutoffs
    return {
        "cutoffs": {"A": cutoffs.a, "B": cutoffs.b, "C": cutoffs.c},
        "enterprises": len(rows),
        "share": {level: levels.count(level) / len(levels) for level in ("A", "B", "C", "D")}
        if levels
        else {},
    }


def card_markdown(card: dict[str, Any]) -> str:
    data, metrics = card["data"], card["metrics"]

    def pct(value: float) -> str:
        return "-" if value is None or math.isnan(value) else f"{value:.1%}"

    def num(value: float, form: str = ".3f") -> str:
        return "-" if value is None or math.isnan(value) else format(value, form)

    lines = [
        f"# Model card: {card['version']}",
        "",
        f"Trained {card['trained_at']} in {card['training_seconds']} s under policy "
        f"`{card['policy_version']}`, features `{card['features_version']}`.",
        "",
        "## Data",
        f"- Training: {data['train_from']} to {data['train_to']}, {data['train_rows']} inspections, "
        f"violation rate {pct(data['train_violation_rate'])}",
        f"- Test: {data['test_from']} to {data['test_to']}, {data['test_rows']} inspections, "
        f"violation rate {pct(data['test_violation_rate'])}",
        "",
        "## Test metrics",
        "| model | AUC | top-decile hit rate | lift | days earlier | first-half share | Brier | ECE | PSI |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name in ("champion", "challenger"):
        m = metrics[name]
        lines.append(
            f"| {name} | {num(m['auc'])} | {pct(m['top_decile_hit_rate'])} | {num(m['lift'], '.2f')} | "
            f"{num(m['mean_days_earlier'], '.1f')} | {pct(m['first_half_share'])} | "
            f"{num(m['brier'], '.4f')} | "
            f"{num(m['ece'], '.4f')} | {num(m['psi_train_test'])} |"
        )
    for title, key in (("By region (city)", "by_region"), ("By size class", "by_size_class")):
        lines += [
            "",
            f"## Champion {title.lower()}",
            "| group | rows | violation rate | mean predicted | AUC |",
            "| --- | --- | --- | --- | --- |",
        ]
        for group, m in card[key].items():
            lines.append(
                f"| {group} | {m['rows']} | {pct(m['violation_rate'])} | {pct(m['mean_predicted'])} | "
                f"{num(m['auc'])} |"
            )
    grades = card["grades"]
    cutoffs = grades["cutoffs"]
    lines += [
        "",
        "## Grades",
        f"Cut-offs A >= {cutoffs['A']}, B >= {cutoffs['B']}, C >= {cutoffs['C']}, D below. Share of "
        f"{grades['enterprises']} enterprises by score alone (hard rules aside), at their latest inspection: "
        + ", ".join(f"{level} {pct(share)}" for level, share in grades["share"].items()),
        "",
        "## Features",
        f"Scorecard uses: {', '.join(card['scorecard_features'])}.",
        f"Dropped (weight with the wrong sign): {', '.join(card['dropped_features']) or 'none'}.",
        f"Challenger uses all of: {', '.join(card['features'])}.",
    ]
    return "\n".join(lines) + "\n"
