"""Training rows: one per completed inspection, with the enterprise's features as of that inspection; and
the population: one row per registered enterprise, with its features as of one date.

Point in time: a row's features come from the same fold as `compute_features(history, inspected_at)`,
which reads only events that occurred strictly before the inspection, so a row never sees its own
outcome or anything later. Each history is folded once (services.scoring.domain.features). The label
is a policy's choice (services.scoring.domain.grades.LABEL_SEVERITY): every row keeps the severity of
its outcome (0 compliant .. 3 serious, tampering or a refusal serious), and `label` is derived from it.

The columns are numpy arrays (a million inspections fit comfortably): numeric features float64 with NaN
for missing, categorical ones object arrays. Rows also keep the evidence the policy's hard rules read, so
a backtest can grade them with the service's own policy layer (`features_of`).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from integrity.events.v1 import events_pb2
from services.scoring.domain.features import (
    CATEGORICAL_FEATURES,
    NUMERIC_FEATURES,
    Features,
    HistoryFold,
    Timeline,
    severity_of,
)
from services.scoring.domain.grades import DEFAULT_LABEL, LABEL_SEVERITY

Event = events_pb2.Event
NOT_A_TIME = np.datetime64("NaT", "us")


@dataclass
class Dataset:
    numeric: np.ndarray  # (rows, len(NUMERIC_FEATURES)) float64, NaN = missing
    categorical: np.ndarray  # (rows, len(CATEGORICAL_FEATURES)) object
    severity: np.ndarray  # int8: of the inspection's outcome (population rows: -1)
    label: np.ndarray  # int8: 1 = the inspection found "the violation" of `label_name`
    inspected_at: np.ndarray  # datetime64[us], UTC: the inspection's time (population rows: the date)
    uscc: np.ndarray  # object
    inspection: np.ndarray  # object: `inspections/{id}` ("" for population rows)
    region_code: np.ndarray  # object
    # Evidence of the policy layer: no evidence yet (provisional), the hard rules' latest evidence.
    has_evidence: np.ndarray  # bool
    last_serious: np.ndarray  # datetime64[us], NaT = none
    last_refused: np.ndarray
    last_false_capability: np.ndarray
    instrument_counts: np.ndarray  # (rows, 4) int32: checked, bad; in the registry, bad there
    label_name: str = DEFAULT_LABEL

    def __len__(self) -> int:
        return len(self.label)

    def subset(self, selector: np.ndarray) -> Dataset:
        """Rows picked by a boolean mask or an index array."""
        return replace(self, **{f.name: getattr(self, f.name)[selector] for f in _ARRAYS})

    def relabel(self, label_name: str) -> Dataset:
        """The same rows labelled by another policy label ("major_or_worse", "non_compliant")."""
        return replace(self, label=labels_of(self.severity, label_name), label_name=label_name)

    def column(self, feature: str) -> np.ndarray:
        if feature in NUMERIC_FEATURES:
            return self.numeric[:, NUMERIC_FEATURES.index(feature)]
        return self.categorical[:, CATEGORICAL_FEATURES.index(feature)]

    def values(self, row: int) -> dict[str, float | str | None]:
        """One row's feature values in the form the scorecard reads (None = missing)."""
        values: dict[str, float | str | None] = {
            name: (None if np.isnan(value) else float(value))
            for name, value in zip(NUMERIC_FEATURES, self.numeric[row], strict=True)
        }
        values.update(zip(CATEGORICAL_FEATURES, self.categorical[row], strict=True))
        return values

    def features_of(self, row: int) -> Features:
        """One row's evidence as the policy layer reads it (feature values aside)."""
        checked, bad, registry, registry_bad = (int(n) for n in self.instrument_counts[row])
        return Features(
            values={},
            has_evidence=bool(self.has_evidence[row]),
            last_serious_violation=_moment(self.last_serious[row]),
            last_refused_inspection=_moment(self.last_refused[row]),
            last_false_capability=_moment(self.last_false_capability[row]),
            instruments_checked=checked,
            instruments_bad=bad,
            registry_instruments=registry,
            registry_instruments_bad=registry_bad,
        )

    @property
    def violation_rate(self) -> float:
        return float(self.label.mean()) if len(self) else float("nan")

    @staticmethod
    def concat(parts: Sequence[Dataset]) -> Dataset:
        if not parts:
            return empty_dataset()
        return replace(
            parts[0], **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in _ARRAYS}
        )


_ARRAYS = [f for f in fields(Dataset) if f.name != "label_name"]


def labels_of(severity: np.ndarray, label_name: str) -> np.ndarray:
    if label_name not in LABEL_SEVERITY:
        raise ValueError(f"unknown label {label_name!r}; known: {sorted(LABEL_SEVERITY)}")
    return (np.asarray(severity) >= LABEL_SEVERITY[label_name]).astype(np.int8)


def empty_dataset() -> Dataset:
    return _columns([])


def _moment(value: np.datetime64) -> datetime | None:
    return None if np.isnat(value) else to_datetime(value)


def _naive(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC).replace(tzinfo=None)


Row = tuple[Any, ...]


def _row(features: Features, severity: int, moment: datetime, uscc: str, inspection: str, region: str) -> Row:
    values = features.values
    return (
        tuple(np.nan if values[name] is None else values[name] for name in NUMERIC_FEATURES),
        tuple(values[name] for name in CATEGORICAL_FEATURES),
        severity,
        _naive(moment),
        uscc,
        inspection,
        region,
        features.has_evidence,
        _naive(features.last_serious_violation),
        _naive(features.last_refused_inspection),
        _naive(features.last_false_capability),
        (
            features.instruments_checked,
            features.instruments_bad,
            features.registry_instruments,
            features.registry_instruments_bad,
        ),
    )


def rows_of_history(
    history: Sequence[Event], population_at: datetime | None = None, *, inspections_too: bool = True
) -> tuple[list[Row], list[Row]]:
    """The rows of one enterprise, in one pass over its history: each InspectionCompleted with the features
    as of its time, and (with `population_at`, when the enterprise is registered by then) its row of the
    population as of that date. Events at a time are folded in after the rows of that time are read."""
    timeline = Timeline(history)
    uscc = timeline.entries[0][1].subject if timeline.entries else ""
    fold = HistoryFold()
    inspections: list[Row] = []
    population: list[Row] = []
    pending = population_at is not None  # the population row is still to be read
    for moment, events in timeline.at_each_time():
        if pending and moment >= population_at:  # type: ignore[operator]
            population, pending = _population_row(fold, population_at, uscc), False  # type: ignore[arg-type]
        for event in events if inspections_too else ():
            if event.WhichOneof("payload") == "inspection_completed":
                features = fold.features(moment)
                payload = event.inspection_completed
                region = _region(fold, uscc)
                inspections.append(
                    _row(features, severity_of(payload), moment, uscc, payload.inspection, region)
                )
        for event in events:
            fold.add(moment, event)
    if pending:
        population = _population_row(fold, population_at, uscc)  # type: ignore[arg-type]
    return inspections, population


def _population_row(fold: HistoryFold, at: datetime, uscc: str) -> list[Row]:
    if fold.profile is None:
        return []  # not registered by then: not graded, not part of the population
    return [_row(fold.features(at), -1, at, uscc, "", _region(fold, uscc))]


def _region(fold: HistoryFold, uscc: str) -> str:
    return (fold.profile.region_code if fold.profile is not None else "") or uscc[2:8]


def _columns(rows: list[Row], label_name: str = DEFAULT_LABEL) -> Dataset:
    def objects(index: int) -> np.ndarray:
        column = np.empty(len(rows), dtype=object)
        column[:] = [row[index] for row in rows]
        return column

    def times(index: int) -> np.ndarray:
        return np.array(
            [NOT_A_TIME if row[index] is None else row[index] for row in rows], dtype="datetime64[us]"
        )

    categorical = np.empty((len(rows), len(CATEGORICAL_FEATURES)), dtype=object)
    for i, row in enumerate(rows):
        categorical[i, :] = row[1]
    severity = np.array([row[2] for row in rows], dtype=np.int8)
    return Dataset(
        numeric=np.array([row[0] for row in rows], dtype=np.float64).reshape(
            len(rows), len(NUMERIC_FEATURES)
        ),
        categorical=categorical,
        severity=severity,
        label=labels_of(severity, label_name),
        inspected_at=times(3),
        uscc=objects(4),
        inspection=objects(5),
        region_code=objects(6),
        has_evidence=np.array([row[7] for row in rows], dtype=bool),
        last_serious=times(8),
        last_refused=times(9),
        last_false_capability=times(10),
        instrument_counts=np.array([row[11] for row in rows], dtype=np.int32).reshape(len(rows), 4),
        label_name=label_name,
    )


def _tables_of(
    chunk: Sequence[Sequence[Event]], population_at: datetime | None, label: str, inspections_too: bool = True
) -> tuple[Dataset, Dataset]:
    inspections: list[Row] = []
    population: list[Row] = []
    for history in chunk:
        rows, snapshot = rows_of_history(history, population_at, inspections_too=inspections_too)
        inspections += rows
        population += snapshot
    return _columns(inspections, label), _columns(population, label)


def _tables_of_serialized(
    arguments: tuple[list[list[bytes]], datetime | None, str],
) -> tuple[Dataset, Dataset]:
    """Worker side of `build_tables`: histories travel as serialized events (protobufs do not pickle)."""
    chunk, population_at, label = arguments
    return _tables_of(
        [[Event.FromString(data) for data in history] for history in chunk], population_at, label
    )


def _chunks(histories: Iterable[Sequence[Event]], size: int) -> Iterator[list[Sequence[Event]]]:
    iterator = iter(histories)
    while chunk := list(islice(iterator, size)):
        yield chunk


def build_tables(
    histories: Iterable[Sequence[Event]],
    *,
    population_at: datetime | None = None,
    label: str = DEFAULT_LABEL,
    workers: int = 1,
    chunk_size: int = 500,
) -> tuple[Dataset, Dataset]:
    """(inspection rows, population rows) of every history (each: one enterprise's events, any order).

    With `workers` > 1 the features are computed in that many processes (histories are streamed in
    chunks, so a generator of a million enterprises never sits in memory as protobufs)."""
    if workers <= 1:
        parts = [_tables_of(chunk, population_at, label) for chunk in _chunks(histories, chunk_size)]
    else:
        serialized = (
            ([[event.SerializeToString() for event in history] for history in chunk], population_at, label)
            for chunk in _chunks(histories, chunk_size)
        )
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = list(pool.imap(_tables_of_serialized, serialized))
    inspections = Dataset.concat([part[0] for part in parts]).relabel(label)
    population = Dataset.concat([part[1] for part in parts]).relabel(label)
    # Rows in (time, inspection) order whatever order the histories came in (a file, the database), so
    # the same inspections always train the same models under the same version name.
    order = np.lexsort((inspections.inspection.astype(str), inspections.inspected_at))
    return inspections.subset(order), population.subset(
        np.argsort(population.uscc.astype(str), kind="stable")
    )


def build_population(
    histories: Iterable[Sequence[Event]], at: datetime, label: str = DEFAULT_LABEL
) -> Dataset:
    """One row per enterprise registered before `at`, with its features as of `at`."""
    parts = [_tables_of(chunk, at, label, inspections_too=False)[1] for chunk in _chunks(histories, 500)]
    population = Dataset.concat(parts).relabel(label)
    return population.subset(np.argsort(population.uscc.astype(str), kind="stable"))


def build_dataset(
    histories: Iterable[Sequence[Event]],
    *,
    label: str = DEFAULT_LABEL,
    workers: int = 1,
    chunk_size: int = 500,
) -> Dataset:
    """One row per InspectionCompleted of every history."""
    return build_tables(histories, label=label, workers=workers, chunk_size=chunk_size)[0]


def inspection_times(histories: Iterable[Sequence[Event]]) -> np.ndarray:
    """The time of every InspectionCompleted (sorted), without computing features."""
    times = [
        np.datetime64(event.occurred_at.ToDatetime().replace(tzinfo=None), "us")
        for history in histories
        for event in history
        if event.WhichOneof("payload") == "inspection_completed"
    ]
    return np.sort(np.array(times, dtype="datetime64[us]"))


# -- sources of histories -------------------------------------------------------------------------------


def histories_from_jsonl(path: Path) -> list[list[Event]]:
    """Histories from a CloudEvents JSON-lines file (e.g. `integrity export`), grouped by subject."""
    from shared.cloudevents import from_json_line  # written alongside; imported when used

    by_subject: dict[str, list[Event]] = {}
    with path.open(encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            if not line.strip():
                continue
            try:
                event = from_json_line(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: {exc}") from exc
            by_subject.setdefault(event.subject, []).append(event)
    return list(by_subject.values())


def histories_from_database(database_url: str, batch_size: int = 2000) -> Iterator[list[Event]]:
    """The histories of every registered enterprise (scoring's projection) in the scoring database, a
    batch at a time; events about an enterprise never registered are not graded, so not learned from."""
    from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
    from shared.db import make_engine

    engine = make_engine(database_url)
    try:
        uow = ScoringUnitOfWork(engine)
        with uow:
            usccs = uow.enterprises.usccs()
        for start in range(0, len(usccs), batch_size):
            with uow:
                histories = uow.history.events_of(usccs[start : start + batch_size])
            yield from histories.values()
    finally:
        engine.dispose()


def to_datetime(moment: np.datetime64) -> datetime:
    return datetime.fromisoformat(str(moment.astype("datetime64[us]"))).replace(tzinfo=UTC)
