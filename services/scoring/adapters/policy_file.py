"""Reading the grading policy from its TOML file (`policies/policy-v3.toml` by default), with the scorecard
of a learned model in place of the policy's own when one is given (the promoted one, see model_store)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from services.scoring.domain.policy import Policy, PolicyError, parse_policy

POLICY_DIR = Path(__file__).parent.parent / "policies"
DEFAULT_POLICY_PATH = POLICY_DIR / "policy-v3.toml"


def load_policy(path: Path = DEFAULT_POLICY_PATH, scorecard_path: Path | None = None) -> Policy:
    """The policy in `path`; with `scorecard_path`, its `[scorecard]` table replaces the policy's own
    (a learned, promoted scorecard: the policy's rules stay, the grades record the scorecard's version)."""
    document = _read_toml(path, "policy")
    source = str(path)
    if scorecard_path is not None:
        scorecard_document = _read_toml(scorecard_path, "scorecard")
        unknown = sorted(set(scorecard_document) - {"scorecard"})
        if unknown or "scorecard" not in scorecard_document:
            raise PolicyError(
                f"scorecard file {scorecard_path} must hold only a [scorecard] table, found keys "
                f"{sorted(scorecard_document)}"
            )
        document["scorecard"] = scorecard_document["scorecard"]
        source = f"{path} with the scorecard of {scorecard_path}"
    return parse_policy(document, source=source)


def _read_toml(path: Path, what: str) -> dict[str, Any]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except FileNotFoundError:
        raise PolicyError(f"{what} file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{what} file {path} is not valid TOML: {exc}") from exc
