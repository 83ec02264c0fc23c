"""The model registry on disk: var/models/<version>/ holds scorecard.toml (the champion, in the policy's
`[scorecard]` form), challenger.skops, card.json and card.md. var/models/PROMOTED names the promoted
version, whose scorecard the scoring service and `integrity scoring recompute` grade with.

No third-party packages: the scoring service imports this at start-up (the learning stack writes the
models, see the `learning` package).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.scoring.adapters.policy_file import load_policy

SCORECARD_FILE = "scorecard.toml"
CHALLENGER_FILE = "challenger.skops"
CARD_JSON = "card.json"
CARD_MD = "card.md"
PROMOTED_FILE = "PROMOTED"


def models_dir(var_dir: Path) -> Path:
    return Path(var_dir) / "models"


def version_dir(var_dir: Path, version: str) -> Path:
    if not version or "/" in version or "\\" in version or version.startswith("."):
        raise ValueError(f"{version!r} is not a model version name")
    return models_dir(var_dir) / version


@dataclass(frozen=True)
class ModelEntry:
    version: str
    promoted: bool
    card: dict[str, Any]


def list_models(var_dir: Path) -> list[ModelEntry]:
    """Every stored model with its card, oldest training first."""
    root = models_dir(var_dir)
    promoted = promoted_version(var_dir)
    entries = []
    for directory in sorted(root.iterdir()) if root.is_dir() else []:
        card_path = directory / CARD_JSON
        if directory.is_dir() and card_path.is_file():
            card = json.loads(card_path.read_text(encoding="utf-8"))
            entries.append(ModelEntry(directory.name, directory.name == promoted, card))
    return sorted(entries, key=lambda entry: (entry.card.get("trained_at", ""), entry.version))


def promoted_version(var_dir: Path) -> str | None:
    path = models_dir(var_dir) / PROMOTED_FILE
    if not path.is_file():
        return None
    return path.read_text(encoding="utf-8").strip() or None


def promoted_scorecard_path(var_dir: Path) -> Path | None:
    """The promoted champion's scorecard file, or None when nothing is promoted (use the built-in one)."""
    version = promoted_version(var_dir)
    if version is None:
        return None
    path = version_dir(var_dir, version) / SCORECARD_FILE
    if not path.is_file():
        raise FileNotFoundError(f"promoted model {version} has no {SCORECARD_FILE} under {path.parent}")
    return path


def promote(var_dir: Path, version: str) -> Path:
    """Makes `version` the promoted champion, after checking its scorecard loads under the policy."""
    path = version_dir(var_dir, version) / SCORECARD_FILE
    if not path.is_file():
        known = [entry.version for entry in list_models(var_dir)]
        raise FileNotFoundError(f"no model {version!r} under {models_dir(var_dir)}; known: {known}")
    load_policy(scorecard_path=path)  # checks the scorecard as the service will read it
    marker = models_dir(var_dir) / PROMOTED_FILE
    temporary = marker.with_suffix(".tmp")
    temporary.write_text(version + "\n", encoding="utf-8")
    os.replace(temporary, marker)  # atomic: a reader sees the old or the new version, never half
    return path
