"""`integrity model cutoffs VERSION`: the policy's target shares per grade resolved against a stored model,
on the population of enterprises registered at a date (by default the model's own: the start of its
hold-out), with the shares they give by score and as graded (hard rules, provisional limits). Unless it is
a dry run, the scorecard file and the model card keep the new cut-offs, so the model can be promoted under
a policy whose shares changed since it was trained."""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from datetime import datetime
from typing import Any

from learning.card import card_markdown, population_lines
from learning.dataset import build_population
from learning.grading import narrow_band, population_shares, resolve_cutoffs
from learning.scorecard_file import policy_with, score_dataset, scorecard_of, to_toml
from operations.history.sources import HistorySource
from services.scoring.adapters import model_store
from services.scoring.adapters.policy_file import load_policy
from shared.settings import get_settings


def resolve_for_version(
    version: str, source: HistorySource, *, as_of: datetime | None, store: bool
) -> list[str]:
    directory = model_store.version_dir(get_settings().var_dir, version)
    scorecard_path, card_path = directory / model_store.SCORECARD_FILE, directory / model_store.CARD_JSON
    if not scorecard_path.is_file() or not card_path.is_file():
        known = [entry.version for entry in model_store.list_models(get_settings().var_dir)]
        raise ValueError(
            f"no model {version!r} under {model_store.models_dir(get_settings().var_dir)}; known: {known}"
        )
    with scorecard_path.open("rb") as file:
        document: dict[str, Any] = tomllib.load(file)["scorecard"]
    card = json.loads(card_path.read_text(encoding="utf-8"))
    policy = load_policy()
    if not policy.cutoff_shares:
        cutoffs = policy.grade_cutoffs
        raise ValueError(
            f"the policy's cut-offs are absolute scores (A >= {cutoffs.a}, B >= {cutoffs.b}, "
            f"C >= {cutoffs.c}): there are no target shares to resolve"
        )
    scorecard = scorecard_of(document)
    at = as_of or datetime.fromisoformat(card["grades"]["population_as_of"])
    population = build_population(source.histories(), at, scorecard.label or policy.label)
    scores = score_dataset(scorecard, population)
    cutoffs = resolve_cutoffs(scores, policy.cutoff_shares)
    if problem := narrow_band(cutoffs, policy.hysteresis_margin):
        raise ValueError(problem)
    graded = policy_with(replace(policy, label=scorecard.label or policy.label), scorecard, cutoffs)
    grades = {
        "cutoffs": {"A": cutoffs.a, "B": cutoffs.b, "C": cutoffs.c},
        "target_shares": dict(policy.cutoff_shares),
        "population_as_of": at.isoformat(),
        "enterprises": len(population),
        **population_shares(graded, scores, population),
    }
    before = card["grades"]["cutoffs"]
    lines = [
        f"model {version}, label {scorecard.label}: cut-offs were A >= {before['A']}, B >= {before['B']}, "
        f"C >= {before['C']}",
        *population_lines(grades),
    ]
    if store:
        document["cutoffs"] = {**grades["cutoffs"], "shares": dict(policy.cutoff_shares)}
        header = [
            line
            for line in _comment(scorecard_path.read_text(encoding="utf-8"))
            if not line.startswith("Cut-offs")
        ]
        scorecard_path.write_text(
            to_toml(document, "\n".join([*header, *population_lines(grades)])), encoding="utf-8"
        )
        card["grades"] = grades
        card_path.write_text(json.dumps(card, indent=2, ensure_ascii=False), encoding="utf-8")
        (directory / model_store.CARD_MD).write_text(card_markdown(card), encoding="utf-8")
        lines.append(f"stored in {scorecard_path}; promote with: integrity model promote {version}")
    else:
        lines.append("(dry run: nothing stored)")
    return lines


def _comment(text: str) -> list[str]:
    """The leading comment lines of a scorecard file, without their '# '."""
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.removeprefix("#").removeprefix(" "))
    return lines
