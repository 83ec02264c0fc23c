"""Backtests: train on inspections before a cut-off, evaluate on the inspections after it.

Metrics per ranking: AUC, the violation hit rate in the top decile (with the base rate and the lift),
calibration (Brier score, expected calibration error, a 10-bin reliability table), and the schedule
simulation of DOMAIN.md (Chicago): order the test inspections by predicted risk, hand them the real
inspection dates in date order, and measure how many days earlier each violation would have been
found, and what share of violations falls in the first half of the test period.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sklearn.metrics import roc_auc_score

from learning.champion import ROUNDS_TO_ZERO, USED, ChampionModel
from learning.dataset import Dataset
from learning.grading import graded_risk, levels, without_hard_rules
from learning.scorecard_file import score_dataset, violation_probability
from services.scoring.domain.grades import GradeCutoffs
from services.scoring.domain.policy import Policy

DAY = np.timedelta64(86_400_000_000, "us")


@dataclass(frozen=True)
class Schedule:
    mean_days_earlier: float  # over the inspections that found a violation
    first_half_share: float  # share of violations found (by simulated date) in the first half


def schedule_simulation(dates: np.ndarray, risk: np.ndarray, labels: np.ndarray) -> Schedule:
    """Inspections ordered by risk (highest first; ties keep date order) take the real dates sorted
    ascending. days earlier = actual date - simulated date, averaged over violations; the first half
    is the dates before the midpoint of the earliest and latest test date."""
    dates = np.asarray(dates, dtype="datetime64[us]")
    labels = np.asarray(labels).astype(bool)
    by_date = np.argsort(dates, kind="stable")
    # Highest risk first; a stable sort over the date-ordered rows keeps date order among equal risks.
    order = by_date[np.argsort(-np.asarray(risk, dtype=float)[by_date], kind="stable")]
    simulated = np.empty_like(dates)
    simulated[order] = np.sort(dates)
    if not labels.any():
        return Schedule(float("nan"), float("nan"))
    earlier = (dates[labels] - simulated[labels]) / DAY
    midpoint = dates.min() + (dates.max() - dates.min()) / 2
    return Schedule(float(earlier.mean()), float((simulated[labels] < midpoint).mean()))


@dataclass(frozen=True)
class TopDecile:
    hit_rate: float
    base_rate: float

    @property
    def lift(self) -> float:
        return self.hit_rate / self.base_rate if self.base_rate else float("nan")


def top_decile(labels: np.ndarray, risk: np.ndarray) -> TopDecile:
    """Violation rate among the 10% riskiest rows (at least one row) against the overall rate."""
    labels = np.asarray(labels, dtype=float)
    count = max(math.ceil(len(labels) * 0.1), 1)
    top = np.argsort(-np.asarray(risk, dtype=float), kind="stable")[:count]
    return TopDecile(float(labels[top].mean()), float(labels.mean()))


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    rows: int
    mean_predicted: float
    observed_rate: float


def reliability(labels: np.ndarray, probability: np.ndarray, bins: int = 10) -> list[ReliabilityBin]:
    """Rows binned by predicted probability into equal-count bins (deciles of the prediction)."""
    labels = np.asarray(labels, dtype=float)
    probability = np.asarray(probability, dtype=float)
    order = np.argsort(probability, kind="stable")
    table = []
    for chunk in np.array_split(order, bins):
        if len(chunk):
            p = probability[chunk]
            table.append(
                ReliabilityBin(
                    float(p.min()), float(p.max()), len(chunk), float(p.mean()), float(labels[chunk].mean())
                )
            )
    return table


def expected_calibration_error(table: Sequence[ReliabilityBin]) -> float:
    total = sum(b.rows for b in table)
    return (
        sum(b.rows / total * abs(b.mean_predicted - b.observed_rate) for b in table)
        if total
        else float("nan")
    )


def brier(labels: np.ndarray, probability: np.ndarray) -> float:
    return float(np.mean((np.asarray(probability, dtype=float) - np.asarray(labels, dtype=float)) ** 2))


def psi(expected: np.ndarray, actual: np.ndarray, bins: int = 10) -> float:
    """Population stability index of `actual` against `expected`, over the deciles of `expected`
    (stable below 0.1, shifting to 0.25, shifted above)."""
    expected = np.asarray(expected, dtype=float)
    actual = np.asarray(actual, dtype=float)
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)[1:-1]))
    e = np.bincount(np.searchsorted(edges, expected, side="right"), minlength=len(edges) + 1) / len(expected)
    a = np.bincount(np.searchsorted(edges, actual, side="right"), minlength=len(edges) + 1) / len(actual)
    e, a = np.maximum(e, 1e-6), np.maximum(a, 1e-6)
    return float(np.sum((a - e) * np.log(a / e)))


def stability_band(value: float) -> str:
    return "stable" if value < 0.1 else "shifting" if value < 0.25 else "shifted"


@dataclass
class Evaluation:
    name: str
    auc: float
    top_decile: TopDecile
    schedule: Schedule
    brier: float = float("nan")
    ece: float = float("nan")
    reliability: list[ReliabilityBin] = field(default_factory=list)
    psi: float = float("nan")


def evaluate(
    name: str,
    test: Dataset,
    risk: np.ndarray,
    probability: np.ndarray | None = None,
    psi_value: float = math.nan,
) -> Evaluation:
    """The metrics of one ranking of the test rows (`risk`: higher = riskier; `probability` when the
    ranking is a calibrated probability)."""
    labels = test.label
    auc = float(roc_auc_score(labels, risk)) if 0 < labels.sum() < len(labels) else float("nan")
    evaluation = Evaluation(
        name, auc, top_decile(labels, risk), schedule_simulation(test.inspected_at, risk, labels)
    )
    if probability is not None:
        table = reliability(labels, probability)
        evaluation.brier = brier(labels, probability)
        evaluation.ece = expected_calibration_error(table)
        evaluation.reliability = table
    evaluation.psi = psi_value
    return evaluation


def date_order(test: Dataset) -> Evaluation:
    """Inspecting in date order: the baseline (days earlier 0 by construction)."""
    dates = test.inspected_at.astype("int64").astype(float)
    evaluation = evaluate("date order", test, -dates)
    evaluation.auc = float("nan")  # a date carries no risk information: no AUC to report
    return evaluation


@dataclass
class BacktestReport:
    cutoff: datetime
    label: str
    train_rows: int
    test_rows: int
    train_violation_rate: float
    test_violation_rate: float
    rows: list[Evaluation]
    cutoffs: GradeCutoffs | None = None
    shares: dict[str, dict[str, float]] = field(default_factory=dict)  # of the population at the cut-off
    feature_report: list[dict[str, object]] = field(default_factory=list)

    def by_name(self, name: str) -> Evaluation:
        return next(row for row in self.rows if row.name == name)

    def gap(self, name: str, baseline: str) -> float:
        """AUC of `name` minus AUC of `baseline`."""
        return self.by_name(name).auc - self.by_name(baseline).auc


CHAMPION, CHALLENGER, GRADED, GRADED_NO_RULES, LOGISTIC = (
    "champion",
    "challenger",
    "graded",
    "graded, no hard rules",
    "plain logistic",
)


def split(dataset: Dataset, cutoff: datetime) -> tuple[Dataset, Dataset]:
    moment = np.datetime64(cutoff.astimezone(UTC).replace(tzinfo=None), "us")
    before = dataset.inspected_at < moment
    return dataset.subset(before), dataset.subset(~before)


def backtest(
    dataset: Dataset,
    population: Dataset,
    cutoff: datetime,
    policy: Policy,
    *,
    label: str | None = None,
    truth: Mapping[str, float] | None = None,
    integrity: Mapping[str, float] | None = None,
    challenger_params: object | None = None,
    champion_params: object | None = None,
) -> BacktestReport:
    """Trains on the rows before `cutoff` and ranks the rows from it on: the champion (its exported,
    reloaded integer scorecard), the challenger, the graded ranking a regulator sees (level by the
    service's policy layer at cut-offs resolved against `population`, the enterprises registered at the
    cut-off; then probability), the same without the hard rules, a plain logistic regression on the same
    rows and features, and date order. A demo province's truth adds "oracle" (`truth`: inspection name
    -> true violation probability) and "hidden integrity" (`integrity`: USCC -> integrity)."""
    from learning.baseline import plain_logistic
    from learning.challenger import ChallengerParams, fit_challenger
    from learning.fitting import fit_scorecard

    dataset = dataset.relabel(label or policy.label)
    train, test = split(dataset, cutoff)
    if not len(train) or not len(test):
        raise ValueError(f"cut-off {cutoff.date()} leaves {len(train)} training and {len(test)} test rows")
    fitted = fit_scorecard(train, population, policy, "scorecard-backtest", champion_params)  # type: ignore[arg-type]
    scale = policy.score_scale
    test_scores = score_dataset(fitted.scorecard, test)
    probability = violation_probability(scale, test_scores)
    train_scores = score_dataset(fitted.scorecard, train)
    rows = [evaluate(CHAMPION, test, probability, probability, psi(train_scores, test_scores))]
    challenger = fit_challenger(train, challenger_params or ChallengerParams())  # type: ignore[arg-type]
    challenger_probability = challenger.predict_proba(test)
    rows.append(
        evaluate(
            CHALLENGER,
            test,
            challenger_probability,
            challenger_probability,
            psi(challenger.predict_proba(train), challenger_probability),
        )
    )
    for name, graded_policy in (
        (GRADED, fitted.policy),
        (GRADED_NO_RULES, without_hard_rules(fitted.policy)),
    ):
        level, moved = levels(graded_policy, test_scores, test)
        rows.append(evaluate(name, test, graded_risk(level, violation_probability(scale, moved))))
    logistic = plain_logistic(train, test)
    rows.append(evaluate(LOGISTIC, test, logistic, logistic))
    rows.append(date_order(test))
    if truth is not None:
        known = np.array([name in truth for name in test.inspection])
        if known.all():
            oracle = np.array([truth[name] for name in test.inspection], dtype=float)
            rows.append(evaluate("oracle", test, oracle, oracle))
    if integrity is not None and all(uscc in integrity for uscc in test.uscc):
        hidden = np.array([integrity[uscc] for uscc in test.uscc], dtype=float)
        rows.append(evaluate("hidden integrity", test, -hidden))
    return BacktestReport(
        cutoff,
        dataset.label_name,
        len(train),
        len(test),
        train.violation_rate,
        test.violation_rate,
        rows,
        fitted.cutoffs,
        fitted.shares,
        feature_report(fitted.model, fitted.document),
    )


def format_report(report: BacktestReport) -> str:
    lines = [
        f"backtest, label {report.label}: train before {report.cutoff.date()} "
        f"({report.train_rows} inspections, violation rate {report.train_violation_rate:.1%}), "
        f"test from it ({report.test_rows} inspections, violation rate {report.test_violation_rate:.1%})",
        "",
        f"{'ranking':<22} {'AUC':>6} {'top10% hits':>11} {'lift':>5} {'days earlier':>12} {'1st half':>8} "
        f"{'Brier':>7} {'ECE':>6} {'PSI':>6}",
    ]

    def number(value: float, form: str) -> str:
        return "-" if math.isnan(value) else format(value, form)

    for row in report.rows:
        lines.append(
            f"{row.name:<22} {number(row.auc, '.3f'):>6} {row.top_decile.hit_rate:>11.1%} "
            f"{row.top_decile.lift:>5.2f} {number(row.schedule.mean_days_earlier, '.1f'):>12} "
            f"{number(row.schedule.first_half_share, '.1%'):>8} {number(row.brier, '.4f'):>7} "
            f"{number(row.ece, '.4f'):>6} {number(row.psi, '.3f'):>6}"
            + (f" ({stability_band(row.psi)})" if not math.isnan(row.psi) else "")
        )
    lines += ["", *acceptance_lines(report)]
    if report.cutoffs is not None:
        cutoffs = report.cutoffs
        lines += [
            "",
            f"cut-offs A >= {cutoffs.a}, B >= {cutoffs.b}, C >= {cutoffs.c}; "
            + describe_shares(report.shares),
        ]
    idle = [f"{f['feature']} ({f['status']})" for f in report.feature_report if f["status"] != "used"]
    if idle:
        lines += ["", "features not used by the champion: " + ", ".join(idle)]
    for row in report.rows:
        if row.reliability and row.name == CHAMPION:
            lines += ["", f"calibration of {row.name} (deciles of predicted probability):"]
            lines.append(f"  {'predicted':>15} {'rows':>7} {'mean predicted':>14} {'observed':>8}")
            for b in row.reliability:
                lines.append(
                    f"  {b.low:>6.3f}-{b.high:<8.3f} {b.rows:>7} "
                    f"{b.mean_predicted:>14.3f} {b.observed_rate:>8.3f}"
                )
    return "\n".join(lines)


def acceptance_lines(report: BacktestReport) -> list[str]:
    """The two rules of issue 11: the champion within 0.005 AUC of the plain logistic regression on the
    same rows; the graded ranking within 0.01 of the champion's own (with the hard rules)."""
    champion_gap = report.gap(CHAMPION, LOGISTIC)
    graded_gap = report.gap(GRADED, CHAMPION)
    rules_cost = report.gap(GRADED, GRADED_NO_RULES)
    return [
        f"champion - plain logistic: {champion_gap:+.4f} AUC "
        f"({'ok' if champion_gap >= -0.005 else 'FAILS'}, at least -0.005)",
        f"graded - champion: {graded_gap:+.4f} AUC ({'ok' if graded_gap >= -0.01 else 'FAILS'}, "
        f"at least -0.01); the hard rules cost {-rules_cost:+.4f}",
    ]


def describe_shares(shares: dict[str, dict[str, float]]) -> str:
    if not shares:
        return "no population to grade"

    def listed(values: dict[str, float]) -> str:
        return " ".join(f"{level} {share:.1%}" for level, share in values.items())

    return f"population by score {listed(shares['by_score'])}; graded (hard rules) {listed(shares['graded'])}"


def feature_report(model: ChampionModel, scorecard: dict[str, Any]) -> list[dict[str, Any]]:
    """Each feature's status, information value and shape. A feature fitted with weights too small to be
    worth one point anywhere is left out of the scorecard (`scorecard`, its document): it is reported as
    rounding to zero, not as used."""
    exported = {entry["feature"] for entry in scorecard["features"]}
    report = []
    for fit in model.features:
        status = ROUNDS_TO_ZERO if fit.status == USED and fit.feature not in exported else fit.status
        entry: dict[str, Any] = {"feature": fit.feature, "status": status, "iv": round(fit.iv, 4)}
        if fit.numeric and fit.upper_bounds:
            entry.update(risk=fit.risk, bins=len(fit.upper_bounds))
        elif not fit.numeric:
            entry["categories"] = len(fit.categories)
        report.append(entry)
    return report
