"""Training rows: labels, point-in-time features (no future leak), parallel build, history sources."""

from __future__ import annotations

import random
from datetime import UTC, timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from learning_synthetic import generate, moment_of

from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2
from learning.dataset import (
    Dataset,
    build_dataset,
    build_tables,
    histories_from_database,
    histories_from_jsonl,
    labels_of,
)
from operations.demo.province import generate_province
from services.scoring.domain.features import compute_features, severity_of

_O = inspections_pb2.InspectionOutcome


def completed(
    outcome: int, *, tampering: bool = False, refused: bool = False
) -> events_pb2.InspectionCompleted:
    payload = events_pb2.InspectionCompleted(inspection="inspections/1", outcome=outcome)
    payload.summary.tampering_found = tampering
    payload.summary.inspection_refused = refused
    return payload


def found_violation(payload: events_pb2.InspectionCompleted, label: str = "non_compliant") -> bool:
    return bool(labels_of(np.array([severity_of(payload)]), label)[0])


def test_the_label_is_the_policys_choice_of_outcomes() -> None:
    for label in ("non_compliant", "major_or_worse"):
        assert not found_violation(completed(_O.INSPECTION_OUTCOME_COMPLIANT), label)
        assert found_violation(completed(_O.INSPECTION_OUTCOME_SERIOUS_VIOLATION), label)
        assert found_violation(completed(_O.INSPECTION_OUTCOME_MAJOR_VIOLATION), label)
        # Tampering or a refusal is serious whatever the outcome says.
        assert found_violation(completed(_O.INSPECTION_OUTCOME_COMPLIANT, tampering=True), label)
        assert found_violation(completed(_O.INSPECTION_OUTCOME_MINOR_VIOLATION, refused=True), label)
    # A minor finding is a violation, but not a major-or-worse one.
    assert found_violation(completed(_O.INSPECTION_OUTCOME_MINOR_VIOLATION), "non_compliant")
    assert not found_violation(completed(_O.INSPECTION_OUTCOME_MINOR_VIOLATION), "major_or_worse")


def test_one_row_per_inspection_with_its_label_and_identity() -> None:
    enterprises = list(generate(40, seed=3))
    dataset = build_dataset([e.events for e in enterprises], label="non_compliant")
    expected = {
        event.inspection_completed.inspection: (
            e.uscc,
            e.region_code,
            found_violation(event.inspection_completed),
        )
        for e in enterprises
        for event in e.events
        if event.WhichOneof("payload") == "inspection_completed"
    }
    assert len(dataset) == len(expected) > 0
    for row, name in enumerate(dataset.inspection):
        assert (dataset.uscc[row], dataset.region_code[row], bool(dataset.label[row])) == expected[name]
    assert dataset.numeric.shape == (len(expected), dataset.numeric.shape[1])


def test_parallel_build_gives_the_same_rows() -> None:
    histories = [e.events for e in generate(60, seed=4)]
    single = build_dataset(histories)
    parallel = build_dataset(iter(histories), workers=2, chunk_size=7)
    assert_same_rows(single, parallel)


def test_rows_are_in_time_order_whatever_order_the_histories_come_in() -> None:
    # A file and the database list enterprises in different orders; the models must not depend on it.
    histories = [e.events for e in generate(60, seed=4)]
    forward = build_dataset(histories)
    assert_same_rows(forward, build_dataset(list(reversed(histories))))
    assert (np.diff(forward.inspected_at.astype("int64")) >= 0).all()


def assert_same_rows(a: Dataset, b: Dataset) -> None:
    assert list(a.inspection) == list(b.inspection)
    np.testing.assert_array_equal(a.numeric, b.numeric)  # NaN == NaN here
    assert a.categorical.tolist() == b.categorical.tolist()
    np.testing.assert_array_equal(a.label, b.label)
    np.testing.assert_array_equal(a.inspected_at, b.inspected_at)


# -- no future leak -------------------------------------------------------------------------------------


def one_history(seed: int, demo: bool) -> list[events_pb2.Event]:
    """One enterprise's history: from the demo province (instruments, verifications, commitments,
    rectifications...) or from the small synthetic generator."""
    if demo:
        return next(generate_province(seed + 1, seed=seed, years=3)).events
    return next(generate(1, seed=seed)).events


def is_outcome(event: events_pb2.Event) -> bool:
    kind = event.WhichOneof("payload")
    return kind == "inspection_completed" or (
        kind == "complaint_resolved" and event.complaint_resolved.substantiated
    )


def features_by_inspection(dataset: Dataset) -> dict[str, tuple]:
    return {
        name: (tuple(np.nan_to_num(dataset.numeric[row], nan=-1.0)), tuple(dataset.categorical[row]))
        for row, name in enumerate(dataset.inspection)
    }


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    pick=st.integers(0, 10_000),
    days=st.floats(0.001, 2000),
    flip=st.booleans(),
    demo=st.booleans(),
)
def test_moving_an_outcome_later_changes_no_feature_of_rows_up_to_its_old_time(
    seed: int, pick: int, days: float, flip: bool, demo: bool
) -> None:
    """An outcome (an inspection, or a substantiated complaint resolution) moved later, and possibly
    reversed, changes nothing in the rows as of its original time or before: those rows, including the
    inspection's own row, were computed without it."""
    history = one_history(seed, demo)
    outcomes = [index for index, event in enumerate(history) if is_outcome(event)]
    if not outcomes:
        return
    index = outcomes[pick % len(outcomes)]
    original = history[index]
    as_of = moment_of(original)
    moved = events_pb2.Event()
    moved.CopyFrom(original)
    moved.occurred_at.FromDatetime(as_of + timedelta(days=days))
    if flip and moved.WhichOneof("payload") == "inspection_completed":
        outcome = moved.inspection_completed.outcome
        serious = outcome == _O.INSPECTION_OUTCOME_COMPLIANT
        moved.inspection_completed.outcome = (
            _O.INSPECTION_OUTCOME_SERIOUS_VIOLATION if serious else _O.INSPECTION_OUTCOME_COMPLIANT
        )
        # Counted findings too (history features of their own).
        moved.inspection_completed.summary.serious_findings = 1 if serious else 0
        moved.inspection_completed.summary.minor_findings = 2 if serious else 0
    elif flip:
        moved.complaint_resolved.substantiated = False
    changed = [*history[:index], moved, *history[index + 1 :]]
    random.Random(seed).shuffle(changed)  # arrival order must not matter either

    before = build_dataset([history])
    after = build_dataset([changed])
    cut = np.datetime64(as_of.replace(tzinfo=None), "us")
    rows_before = {k: v for k, v in features_by_inspection(before.subset(before.inspected_at <= cut)).items()}
    rows_after = features_by_inspection(after)
    own = (
        moved.inspection_completed.inspection
        if moved.WhichOneof("payload") == "inspection_completed"
        else None
    )
    for name, features in rows_before.items():
        if name != own:  # the moved inspection's own row is now as of its new time
            assert rows_after[name] == features, f"{name} saw an outcome from its future"


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 10_000), pick=st.integers(0, 10_000), demo=st.booleans())
def test_reversing_an_inspection_outcome_changes_no_feature_of_its_own_row_or_earlier_ones(
    seed: int, pick: int, demo: bool
) -> None:
    history = one_history(seed, demo)
    inspections = [i for i, e in enumerate(history) if e.WhichOneof("payload") == "inspection_completed"]
    if not inspections:
        return
    index = inspections[pick % len(inspections)]
    reversed_ = events_pb2.Event()
    reversed_.CopyFrom(history[index])
    payload = reversed_.inspection_completed
    violated = found_violation(payload)
    payload.outcome = _O.INSPECTION_OUTCOME_COMPLIANT if violated else _O.INSPECTION_OUTCOME_MAJOR_VIOLATION
    payload.summary.tampering_found = payload.summary.inspection_refused = False
    before = build_dataset([history], label="non_compliant")
    after = build_dataset([[*history[:index], reversed_, *history[index + 1 :]]], label="non_compliant")
    cut = np.datetime64(moment_of(reversed_).replace(tzinfo=None), "us")
    rows_after = features_by_inspection(after)
    for name, features in features_by_inspection(before.subset(before.inspected_at <= cut)).items():
        assert rows_after[name] == features
    own = list(after.inspection).index(payload.inspection)
    assert after.label[own] != before.label[own]  # only the label changed


def test_an_inspection_row_never_sees_its_own_outcome() -> None:
    history = next(e for e in generate(30, seed=9) if len(e.violation_probability) >= 2).events
    dataset = build_dataset([history])
    # The first inspection's row: no inspection before it, whatever its own outcome was.
    first = int(np.argmin(dataset.inspected_at))
    values = dataset.values(first)
    assert values["minor_decayed"] == values["serious_decayed"] == values["compliant_decayed"] == 0.0
    assert values["days_since_last_inspection"] is None and values["last_outcome"] is None
    assert values["ever_inspected"] == "NO" and values["last_x_gap"] == "NEVER"


def test_the_population_is_every_registered_enterprise_as_of_a_date() -> None:
    enterprises = list(generate_province(30, seed=4, years=3))
    at = min(e.events[-1].occurred_at.ToDatetime() for e in enterprises).replace(tzinfo=UTC)
    inspections, population = build_tables([e.events for e in enterprises], population_at=at)
    registered = {e.uscc: e.events for e in enterprises if moment_of(e.events[0]) < at}
    assert sorted(population.uscc) == sorted(registered) and population.inspection.tolist() == [""] * len(
        population
    )
    for row, uscc in enumerate(population.uscc):
        expected = compute_features(registered[uscc], at)
        assert population.values(row) == {**expected.values}
        assert bool(population.has_evidence[row]) == expected.has_evidence
    assert len(inspections) == sum(len(e.violation_probability) for e in enterprises)


# -- sources ----------------------------------------------------------------------------------------------


def test_histories_from_a_cloudevents_file_group_by_subject(tmp_path) -> None:
    from shared.cloudevents import to_json_line

    enterprises = list(generate(5, seed=2))
    lines = [to_json_line(event) for e in enterprises for event in e.events]
    random.Random(1).shuffle(lines)
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    histories = histories_from_jsonl(path)
    assert sorted(len(h) for h in histories) == sorted(len(e.events) for e in enterprises)
    assert_same_rows(
        build_dataset(sorted(histories, key=lambda h: h[0].subject)),
        build_dataset(sorted((e.events for e in enterprises), key=lambda h: h[0].subject)),
    )


def test_histories_from_the_scoring_database(database_url: str) -> None:
    from services.scoring.adapters.policy_file import load_policy
    from services.scoring.adapters.tables import TABLES
    from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
    from services.scoring.entrypoints.consumer import ScoringEventHandler
    from shared.db import create_tables, make_engine

    engine = make_engine(database_url)
    create_tables(engine, TABLES)
    enterprises = list(generate(4, seed=5))
    handler = ScoringEventHandler(load_policy())  # what the scoring consumer stores, as it stores it
    with ScoringUnitOfWork(engine) as uow:
        for e in enterprises:
            for event in e.events:
                handler(uow, event, "integrity.test.v1")
        uow.commit()
    engine.dispose()
    histories = list(histories_from_database(database_url))
    found = {h[0].subject: len(h) for h in histories}
    assert set(found) == {e.uscc for e in enterprises}
    for uscc, count in found.items():
        assert count == len(next(e for e in enterprises if e.uscc == uscc).events)
