"""A draw anyone can verify (domain/commitment.py): the public inputs, recomputed with the revealed seed,
draw exactly the plan's enterprises; they name no enterprise and no grade; and every tampering a citizen
could meet (a changed seed, changed inputs, an enterprise picked by hand) is caught."""

from __future__ import annotations

import dataclasses
import json
import random
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from services.inspections.domain.commitment import (
    PlanCommitment,
    check_commitment,
    commit,
    drawn_tags,
    opening,
    tag,
    verify_public,
)
from services.inspections.domain.draw import DrawInputs, draw, inputs_from_json, inputs_to_json
from tests.unit.inspections.test_draw import inputs

KEY = "5e" * 32
REVEAL = datetime(2027, 1, 1, tzinfo=UTC)


def committed(seed: int, size: int = 300) -> tuple[DrawInputs, str, PlanCommitment]:
    tagged = dataclasses.replace(inputs(seed, size=size), tag_key=KEY)
    snapshot = json.dumps(inputs_to_json(tagged))
    return (
        tagged,
        snapshot,
        commit("p1", "inspectionPlans/p1", tagged, snapshot, "ab" * 16, len(draw(tagged)), False, REVEAL),
    )


@given(seed=st.integers(min_value=1, max_value=2**62))
def test_the_public_inputs_draw_exactly_the_plans_enterprises(seed: int) -> None:
    tagged, _, commitment = committed(seed, size=120)
    chosen = draw(tagged)
    public = json.loads(commitment.public_inputs)
    assert sorted(drawn_tags(public, seed)) == sorted(tag(d.uscc, opening(KEY, d.uscc)) for d in chosen)


def test_the_public_inputs_name_no_enterprise_and_no_grade_of_one() -> None:
    tagged, _, commitment = committed(11)
    text = commitment.public_inputs
    assert not any(c.uscc in text for c in tagged.candidates)
    public = json.loads(text)
    # Only group sizes per grade can be read; which enterprise is in which group cannot.
    sizes = {g["level"]: len(g["tags"]) for g in public["groups"]}
    assert sum(sizes.values()) + len(public["triggered"]) == len(tagged.candidates)


def test_a_snapshot_of_version_2_reads_back_with_its_tag_key() -> None:
    tagged, snapshot, commitment = committed(5)
    again = inputs_from_json(json.loads(snapshot))
    assert again.tag_key == KEY and draw(again) == draw(tagged)
    assert check_commitment(commitment, 5, snapshot, again, "inspectionPlans/p1") == []


def test_the_auditors_check_catches_a_changed_seed_or_snapshot() -> None:
    tagged, snapshot, commitment = committed(5)
    assert check_commitment(commitment, 6, snapshot, tagged, "inspectionPlans/p1") == [
        "the seed and salt do not hash to the published seed commitment"
    ]
    data = json.loads(snapshot)
    data["candidates"].pop()  # an enterprise left out of the population afterwards
    smaller = inputs_from_json(data)
    problems = check_commitment(commitment, 5, json.dumps(data), smaller, "inspectionPlans/p1")
    assert "the stored inputs do not hash to the published snapshot hash" in problems
    assert "the public inputs are not those of the stored inputs" in problems


def test_the_public_check_before_and_after_the_reveal() -> None:
    tagged, _, commitment = committed(9)
    chosen = draw(tagged)
    results = [(d.uscc, opening(KEY, d.uscc)) for d in chosen]
    c = commitment
    args = (c.seed_commitment, c.public_inputs, c.public_inputs_hash, c.inspection_count)

    before = verify_public(*args, None, [])
    assert before.problems == [] and "the seed is not revealed yet" in before.checked[-1]
    after = verify_public(*args, (9, "ab" * 16), results)
    assert after.problems == [] and f"each of the {len(chosen)} published results" in after.checked[-1]

    # A wrong seed, a wrong salt, changed inputs, an enterprise picked by hand: each is caught.
    assert verify_public(*args, (10, "ab" * 16), results).problems
    assert verify_public(*args, (9, "cd" * 16), results).problems
    assert verify_public(
        c.seed_commitment,
        c.public_inputs + " ",
        c.public_inputs_hash,
        c.inspection_count,
        (9, "ab" * 16),
        results,
    ).problems
    drawn = {d.uscc for d in chosen}
    picked = random.Random(1).choice([x.uscc for x in tagged.candidates if x.uscc not in drawn])
    hand = verify_public(*args, (9, "ab" * 16), [*results[1:], (picked, opening(KEY, picked))])
    assert hand.problems == [f"enterprises/{picked} was inspected but not drawn by the seed"]
    # An opening that is not the enterprise's own cannot pass it off as a drawn one.
    forged = verify_public(*args, (9, "ab" * 16), [(picked, results[0][1])])
    assert forged.problems == [f"enterprises/{picked} was inspected but not drawn by the seed"]


def test_a_plan_reveals_when_its_inspections_are_published_or_at_its_reveal_time() -> None:
    _, _, commitment = committed(3)
    assert not commitment.revealed(2, datetime(2026, 6, 1, tzinfo=UTC))
    assert commitment.revealed(0, datetime(2026, 6, 1, tzinfo=UTC))
    assert commitment.revealed(2, REVEAL)
