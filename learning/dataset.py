"""Training rows: one per completed inspection, with the enterprise's features as of that inspection.

Point in time: a row's features come from `compute_features(timeline, inspected_at)`, which reads only
events that occurred strictly before the inspection, so a row never sees its own outcome or anything
later. The columns are numpy arrays (a million inspections fit comfortably); categoricals and
identifiers are object arrays with None for a missing value.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np

from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2
from services.scoring.domain.features import NUMERIC_FEATURES, Timeline, compute_features

Event = events_pb2.Event


def found_violation(payload: events_pb2.InspectionCompleted) -> bool:
    """The label: the inspection found a violation (any non-compliant outcome, tampering or a refusal)."""
    return (
        payload.outcome != inspections_pb2.INSPECTION_OUTCOME_COMPLIANT
        or payload.summary.tampering_found
        or payload.summary.inspection_refused
    )


@dataclass
class Dataset:
    numeric: np.ndarray  # (rows, len(NUMERIC_FEATURES)) float64, NaN = missing
    subject_type: np.ndarray  # object: SubjectType name or None
    size_class: np.ndarray  # object: SizeClass name or None
    label: np.ndarray  # int8: 1 = the inspection found a violation
    inspected_at: np.ndarray  # datetime64[us], UTC
    uscc: np.ndarray  # object
    inspection: np.ndarray  # object: `inspections/{id}`
    region_code: np.ndarray  # object

    def __len__(self) -> int:
        return len(self.label)

    def subset(self, selector: np.ndarray) -> Dataset:
        """Rows picked by a boolean mask or an index array."""
        return Dataset(**{f.name: getattr(self, f.name)[selector] for f in fields(self)})

    def values(self, row: int) -> dict[str, float | str | None]:
        """One row's feature values in the form the scorecard reads (None = missing)."""
        values: dict[str, float | str | None] = {
            name: (None if np.isnan(value) else float(value))
            for name, value in zip(NUMERIC_FEATURES, self.numeric[row], strict=True)
        }
        values["subject_type"] = self.subject_type[row]
        values["size_class"] = self.size_class[row]
        return values

    def column(self, feature: str) -> np.ndarray:
        if feature in NUMERIC_FEATURES:
            return self.numeric[:, NUMERIC_FEATURES.index(feature)]
        return getattr(self, feature)  # type: ignore[no-any-return]

    @property
    def violation_rate(self) -> float:
        return float(self.label.mean()) if len(self) else float("nan")

    @staticmethod
    def concat(parts: Sequence[Dataset]) -> Dataset:
        if not parts:
            return empty_dataset()
        return Dataset(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Dataset)}
        )


def empty_dataset() -> Dataset:
    return _columns([])


def rows_of_history(history: Sequence[Event]) -> list[tuple[Any, ...]]:
    """The rows of one enterprise: each InspectionCompleted with the features as of its time."""
    timeline = Timeline(history)
    profile_region = ""
    uscc = ""
    for _, event in timeline.entries:
        uscc = uscc or event.subject
        kind = event.WhichOneof("payload")
        if kind in ("enterprise_registered", "enterprise_updated", "enterprise_status_changed"):
            region = getattr(event, kind).enterprise.region_code
            profile_region = region or profile_region
    region_code = profile_region or uscc[2:8]
    rows = []
    for moment, event in timeline.entries:
        if event.WhichOneof("payload") != "inspection_completed":
            continue
        features = compute_features(timeline, moment).values
        numeric = tuple(np.nan if features[name] is None else features[name] for name in NUMERIC_FEATURES)
        payload = event.inspection_completed
        rows.append(
            (
                numeric,
                features["subject_type"],
                features["size_class"],
                1 if found_violation(payload) else 0,
                moment.replace(tzinfo=None),
                event.subject,
                payload.inspection,
                region_code,
            )
        )
    return rows


def _columns(rows: list[tuple[Any, ...]]) -> Dataset:
    def objects(index: int) -> np.ndarray:
        column = np.empty(len(rows), dtype=object)
        column[:] = [row[index] for row in rows]
        return column

    numeric = np.array([row[0] for row in rows], dtype=np.float64).reshape(len(rows), len(NUMERIC_FEATURES))
    return Dataset(
        numeric=numeric,
        subject_type=objects(1),
        size_class=objects(2),
        label=np.array([row[3] for row in rows], dtype=np.int8),
        inspected_at=np.array([row[4] for row in rows], dtype="datetime64[us]"),
        uscc=objects(5),
        inspection=objects(6),
        region_code=objects(7),
    )


def _dataset_of_serialized(chunk: list[list[bytes]]) -> Dataset:
    """Worker side of `build_dataset`: histories travel as serialized events (protobufs do not pickle)."""
    rows: list[tuple[Any, ...]] = []
    for history in chunk:
        rows.extend(rows_of_history([Event.FromString(data) for data in history]))
    return _columns(rows)


def _chunks(histories: Iterable[Sequence[Event]], size: int) -> Iterator[list[Sequence[Event]]]:
    iterator = iter(histories)
    while chunk := list(islice(iterator, size)):
        yield chunk


def build_dataset(
    histories: Iterable[Sequence[Event]], *, workers: int = 1, chunk_size: int = 500
) -> Dataset:
    """One row per InspectionCompleted of every history (each history: one enterprise's events, any order).

    With `workers` > 1 the features are computed in that many processes (histories are streamed in
    chunks, so a generator of a million enterprises never sits in memory as protobufs)."""
    if workers <= 1:
        dataset = Dataset.concat(
            [
                _columns([row for history in chunk for row in rows_of_history(history)])
                for chunk in _chunks(histories, chunk_size)
            ]
        )
    else:
        serialized = (
            [[event.SerializeToString() for event in history] for history in chunk]
            for chunk in _chunks(histories, chunk_size)
        )
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            dataset = Dataset.concat(list(pool.imap(_dataset_of_serialized, serialized)))
    # Rows in (time, inspection) order whatever order the histories came in (a file, the database), so
    # the same inspections always train the same models under the same version name.
    return dataset.subset(np.lexsort((dataset.inspection.astype(str), dataset.inspected_at)))


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
