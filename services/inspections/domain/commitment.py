"""A draw anyone can verify: what a plan commits to when it is drawn, what it reveals later, and the
checks anyone can run. Pure Python. The design, its timeline and its limits: docs/verifiable-draw.md.

When a plan is drawn it publishes, before anyone outside learns the draw:
- `seed_commitment` = SHA-256 of "integrity-plan-seed/v1:{seed}:{salt}" (a 128-bit random salt, so the
  62-bit seed cannot be found by trying every one);
- `snapshot_hash` = SHA-256 of the complete draw inputs (every enterprise with its grade and trigger, the
  roster with its loads), which auditors check with `integrity plan verify`;
- `public_inputs` and their hash: the enterprise part of the inputs with each enterprise as a
  pseudonymous tag, grouped by sampling group (grade), so the draw of enterprises can be recomputed by
  anyone without learning any enterprise's grade.

An enterprise's tag is the first 32 hex digits of SHA-256("{uscc}:{opening}"), where its opening is
HMAC-SHA-256(tag_key, uscc) cut to 32 hex digits and the tag key is the plan's secret. A published result
carries its enterprise's opening, so anyone can compute its tag and check that the seed drew it; the
openings of the enterprises that were not inspected are never published, so their tags (and grades) stay
unlinkable. The seed (with its salt) is revealed once every inspection of the plan is published, at the
latest at `reveal_time`.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from services.inspections.domain.draw import (
    LEVELS,
    UNGRADED,
    DrawInputs,
    opening,
    sampled_as,
    select_keys,
    tag,
    tag_of,
)

__all__ = [
    "PlanCommitment",
    "PublicCommitment",
    "check_commitment",
    "commit",
    "drawn_tags",
    "opening",
    "public_view",
    "tag",
    "verify_public",
]

SEED_DOMAIN = "integrity-plan-seed/v1"
PUBLIC_INPUTS_VERSION = 1


def seed_commitment(seed: int, salt: str) -> str:
    return hashlib.sha256(f"{SEED_DOMAIN}:{seed}:{salt}".encode()).hexdigest()


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def public_inputs(inputs: DrawInputs, plan_name: str) -> str:
    """The public part of a plan's draw inputs, canonical JSON: per sampling group (a GradeLevel number,
    0 for ungraded) its ratio and the tags of its enterprises in draw order, and the tags included by a
    trigger. Needs the inputs' tag key."""
    assert inputs.tag_key, "only a plan with a tag key has public inputs"
    groups: dict[int, list[str]] = {level: [] for level in (UNGRADED, *LEVELS)}
    triggered = []
    for candidate in inputs.candidates:
        candidate_tag = tag_of(inputs.tag_key, candidate.uscc)
        if candidate.trigger:
            triggered.append([candidate_tag, candidate.trigger])
        else:
            groups.setdefault(sampled_as(candidate.level), []).append(candidate_tag)
    document = {
        "version": PUBLIC_INPUTS_VERSION,
        "plan": plan_name,
        "groups": [
            {"level": level, "ratio": inputs.ratios.get(level, 0.0), "tags": sorted(tags)}
            for level, tags in sorted(groups.items())
        ],
        "triggered": sorted(triggered),
    }
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


def drawn_tags(public: Mapping[str, object], seed: int) -> list[str]:
    """The tags the seed draws from public inputs (parsed), triggered ones first: the same selection as
    the plan's own draw, over tags instead of enterprises. ValueError when the document is not one."""
    try:
        if public["version"] != PUBLIC_INPUTS_VERSION:
            raise ValueError(f"unknown public inputs version {public['version']!r}")
        groups = {int(g["level"]): [str(t) for t in g["tags"]] for g in public["groups"]}  # type: ignore[attr-defined]
        ratios = {int(g["level"]): float(g["ratio"]) for g in public["groups"]}  # type: ignore[attr-defined]
        triggered = [str(t) for t, _ in public["triggered"]]  # type: ignore[attr-defined]
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"not the public inputs of a plan: {exc}") from exc
    return triggered + select_keys(groups, ratios, random.Random(seed))


@dataclass(frozen=True)
class PlanCommitment:
    """What a plan committed to when it was drawn, and the secrets it keeps until the reveal."""

    plan_id: str
    seed_commitment: str
    seed_salt: str  # secret until revealed
    snapshot_hash: str
    public_inputs: str
    public_inputs_hash: str
    tag_key: str  # never revealed: it would link every tag to its enterprise
    inspection_count: int
    seed_chosen_by_caller: bool
    reveal_time: datetime

    def revealed(self, unpublished_inspections: int, now: datetime) -> bool:
        """Revealed once every inspection of the plan is published, at the latest at reveal_time."""
        return unpublished_inspections == 0 or now >= self.reveal_time


@dataclass(frozen=True)
class PublicCommitment:
    """A plan's commitment as the public sees it: the seed only once revealed."""

    plan_id: str
    region_code: str
    create_time: datetime
    commitment: PlanCommitment
    revealed: bool
    seed: int  # 0 until revealed

    @property
    def seed_salt(self) -> str:
        return self.commitment.seed_salt if self.revealed else ""


def public_view(
    plan_id: str,
    region_code: str,
    create_time: datetime,
    seed: int,
    commitment: PlanCommitment,
    revealed: bool,
) -> PublicCommitment:
    return PublicCommitment(plan_id, region_code, create_time, commitment, revealed, seed if revealed else 0)


def commit(
    plan_id: str,
    plan_name: str,
    inputs: DrawInputs,
    snapshot: str,
    salt: str,
    inspection_count: int,
    seed_chosen_by_caller: bool,
    reveal_time: datetime,
) -> PlanCommitment:
    published = public_inputs(inputs, plan_name)
    return PlanCommitment(
        plan_id=plan_id,
        seed_commitment=seed_commitment(inputs.seed, salt),
        seed_salt=salt,
        snapshot_hash=sha256_hex(snapshot),
        public_inputs=published,
        public_inputs_hash=sha256_hex(published),
        tag_key=inputs.tag_key,
        inspection_count=inspection_count,
        seed_chosen_by_caller=seed_chosen_by_caller,
        reveal_time=reveal_time,
    )


def check_commitment(
    commitment: PlanCommitment, seed: int, snapshot: str, inputs: DrawInputs, plan_name: str
) -> list[str]:
    """What does not hold between a stored plan (seed, snapshot, its inputs) and its commitment."""
    problems = []
    if seed_commitment(seed, commitment.seed_salt) != commitment.seed_commitment:
        problems.append("the seed and salt do not hash to the published seed commitment")
    if sha256_hex(snapshot) != commitment.snapshot_hash:
        problems.append("the stored inputs do not hash to the published snapshot hash")
    if sha256_hex(commitment.public_inputs) != commitment.public_inputs_hash:
        problems.append("the public inputs do not hash to the published public inputs hash")
    if inputs.tag_key != commitment.tag_key or public_inputs(inputs, plan_name) != commitment.public_inputs:
        problems.append("the public inputs are not those of the stored inputs")
    return problems


@dataclass(frozen=True)
class PublicCheck:
    """What anyone found checking a plan from what it published."""

    problems: list[str]  # empty: everything checked holds
    checked: list[str]  # what was checked and held, in words


def verify_public(
    seed_commitment_hex: str,
    inputs_text: str,
    inputs_hash: str,
    inspection_count: int,
    revealed_seed: tuple[int, str] | None,
    published: Iterable[tuple[str, str]],
) -> PublicCheck:
    """Checks a plan from its public commitment and published results alone: the public inputs' hash, and
    once the seed is revealed (`revealed_seed` = (seed, salt)) its commitment, the number it draws, and
    that every published result's enterprise (uscc, opening) is one of them."""
    problems: list[str] = []
    checked: list[str] = []
    if sha256_hex(inputs_text) != inputs_hash:
        return PublicCheck(["the public inputs do not hash to the published public inputs hash"], checked)
    checked.append("the public inputs hash to the published hash")
    if revealed_seed is None:
        return PublicCheck(problems, [*checked, "the seed is not revealed yet: the draw cannot be checked"])
    seed, salt = revealed_seed
    if seed_commitment(seed, salt) != seed_commitment_hex:
        return PublicCheck(
            ["the revealed seed and salt do not hash to the published seed commitment"], checked
        )
    checked.append("the revealed seed hashes to the seed commitment published when the plan was drawn")
    try:
        drawn = drawn_tags(json.loads(inputs_text), seed)
    except ValueError as exc:
        return PublicCheck([f"the public inputs cannot be read: {exc}"], checked)
    if len(drawn) != inspection_count:
        problems.append(
            f"the seed draws {len(drawn)} enterprises, the plan has {inspection_count} inspections"
        )
    else:
        checked.append(f"the seed draws {len(drawn)} enterprises, as many as the plan's inspections")
    drawn_set = set(drawn)
    results = list(published)
    strays = [uscc for uscc, opened_with in results if tag(uscc, opened_with) not in drawn_set]
    problems += [f"enterprises/{uscc} was inspected but not drawn by the seed" for uscc in strays]
    if not strays:
        checked.append(f"each of the {len(results)} published results is an enterprise the seed drew")
    return PublicCheck(problems, checked)
