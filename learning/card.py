"""The model card in Markdown, for people: what the model learned from (label, window, hold-out), how well it
ranks against the baselines, how each feature fared, and what grades its cut-offs give."""

from __future__ import annotations

import math
from typing import Any

STATUS_WORDS = {
    "used": "used",
    "zero-weighted": "zero-weighted: the constrained fit put every weight at 0 (its effect came out the "
    "other way round, or nothing beside the others)",
    "rounds to zero": "rounds to zero: fitted, but its weights are worth less than one point in every "
    "bin, so the scorecard leaves it out",
    "constant": "constant: one value in the training window, nothing to learn",
    "single bin": "single bin: too few rows apart from the commonest value to split",
    "missing": "missing: never observed in the training window",
}


def _pct(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.1%}"


def _num(value: float | None, form: str = ".3f") -> str:
    return "-" if value is None or math.isnan(value) else format(value, form)


def population_lines(grades: dict[str, Any]) -> list[str]:
    """The cut-offs and the shares of the population they give, before and after the hard rules."""
    cutoffs = grades["cutoffs"]
    lines = [f"Cut-offs A >= {cutoffs['A']}, B >= {cutoffs['B']}, C >= {cutoffs['C']}, D below."]
    targets = grades.get("target_shares") or {}
    if targets:
        a_share = 1.0 - sum(targets.values())
        wanted = {**{level: targets[level] for level in ("D", "C", "B")}, "A": a_share}
        lines.append(
            "Resolved from the target shares "
            + ", ".join(f"{level} {_pct(wanted[level])}" for level in ("A", "B", "C", "D"))
            + f" against the {grades['enterprises']} enterprises registered on "
            + f"{grades['population_as_of'][:10]}."
        )
    for key, words in (
        ("by_score", "by score alone"),
        ("graded", "as graded (hard rules, provisional limits)"),
    ):
        if key in grades:
            lines.append(
                f"Shares {words}: "
                + ", ".join(f"{level} {_pct(share)}" for level, share in grades[key].items())
            )
    return lines


def card_markdown(card: dict[str, Any]) -> str:
    data, metrics = card["data"], card["metrics"]
    lines = [
        f"# Model card: {card['version']}",
        "",
        f"Trained {card['trained_at']} in {card['training_seconds']} s under policy "
        f"`{card['policy_version']}`, features `{card['features_version']}`, label `{card['label']}` "
        "(what counts as the violation it predicts).",
        "",
        "## Data",
        f"- Window: {data['window']}.",
        f"- Training violation rate {_pct(data['train_violation_rate'])}, "
        f"test {_pct(data['test_violation_rate'])}.",
        "",
        "## Test metrics",
        "| ranking | AUC | top-decile hits | lift | days earlier | first-half share | Brier | ECE | PSI |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, m in metrics.items():
        lines.append(
            f"| {name} | {_num(m['auc'])} | {_pct(m['top_decile_hit_rate'])} | {_num(m['lift'], '.2f')} | "
            f"{_num(m['mean_days_earlier'], '.1f')} | {_pct(m['first_half_share'])} | "
            f"{_num(m['brier'], '.4f')} | {_num(m['ece'], '.4f')} | {_num(m['psi_train_test'])} |"
        )
    lines += [
        "",
        '"graded" ranks as a risk list does: by level (the policy\'s cut-offs and hard rules), then by the',
        'probability; "graded, no hard rules" shows what the rules cost the ranking.',
    ]
    for title, key in (("By region (city)", "by_region"), ("By size class", "by_size_class")):
        lines += [
            "",
            f"## Champion {title.lower()}",
            "| group | rows | violation rate | mean predicted | AUC |",
            "| --- | --- | --- | --- | --- |",
        ]
        for group, m in card[key].items():
            lines.append(
                f"| {group} | {m['rows']} | {_pct(m['violation_rate'])} | {_pct(m['mean_predicted'])} | "
                f"{_num(m['auc'])} |"
            )
    lines += [
        "",
        "## Grades",
        *population_lines(card["grades"]),
        "",
        "## Features",
        "| feature | status | information value |",
    ]
    lines.append("| --- | --- | --- |")
    for entry in card["features"]:
        status = STATUS_WORDS.get(entry["status"], entry["status"])
        if entry["status"] == "used" and entry.get("risk"):
            status += f" ({entry['risk']} in risk, {entry['bins']} bins)"
        elif entry["status"] == "used" and "categories" in entry:
            status += f" ({entry['categories']} categories)"
        lines.append(f"| {entry['feature']} | {status} | {_num(entry['iv'], '.4f')} |")
    lines.append("")
    lines.append(f"The exported scorecard has points for: {', '.join(card['scorecard_features'])}.")
    fit = card.get("fit", {})
    if fit.get("validation_auc"):
        tried = ", ".join(f"{l2} (AUC {auc:.3f})" for l2, auc in fit["validation_auc"].items())
        lines.append(
            f"Ridge penalty {fit['l2']:g}, the best at ranking the latest fifth of the training rows when "
            f"fitted on the rest, of: {tried}."
        )
    return "\n".join(lines) + "\n"
