"""Computing the features of one enterprise from its event history, as of a date. Pure Python.

A `HistoryFold` takes an enterprise's events in time order and can be read (`features(as_of)`) at any
time at or after the last event it took. Its state does not depend on when it is read: decayed sums are
kept as of their last change (S(t) = S(t0) * 0.5 ** ((t - t0) / half_life) + w when an event comes), so
reading it later just decays them further. So one pass over a history gives the features at every
point of it: `compute_features(history, as_of)` folds the events before `as_of` and reads once;
`features_before_inspections(history)` reads just before each inspection (a training row each), and a
replay reads after each event time.

A Timeline sorts and converts a history once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from integrity.events.v1 import events_pb2
from services.scoring.domain.features.catalogue import Features
from services.scoring.domain.features.fold import HistoryFold

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def occurred_at(event: events_pb2.Event) -> datetime:
    """When the event happened, to the microsecond, in UTC (Timestamp.ToDatetime's result, made faster:
    every history is converted whole before each grade)."""
    stamp = event.occurred_at
    return _EPOCH + timedelta(seconds=stamp.seconds, microseconds=stamp.nanos // 1000)


class Timeline:
    """An enterprise's events in time order (event id as tie-breaker), each time converted once."""

    def __init__(self, history: Iterable[events_pb2.Event]) -> None:
        timed = [(occurred_at(event), event) for event in history]
        # Time order, event id as tie-breaker: the same events in any arrival order give the same features.
        timed.sort(key=lambda pair: (pair[0], pair[1].id))
        self.entries: list[tuple[datetime, events_pb2.Event]] = timed

    @classmethod
    def of_entries(cls, entries: Iterable[tuple[str, datetime, events_pb2.Event, object]]) -> Timeline:
        """Of a stored history's entries (event id, time, event, ...), their times already converted."""
        timeline = cls.__new__(cls)
        timed = [(entry[1], entry[0], entry[2]) for entry in entries]
        timed.sort(key=lambda triple: (triple[0], triple[1]))  # as __init__ orders them
        timeline.entries = [(moment, event) for moment, _, event in timed]
        return timeline

    def times(self) -> list[datetime]:
        """The distinct event times, in order."""
        return sorted({moment for moment, _ in self.entries})

    def at_each_time(self) -> Iterator[tuple[datetime, list[events_pb2.Event]]]:
        """The events grouped by time, in time order."""
        entries = self.entries
        start = 0
        while start < len(entries):
            moment = entries[start][0]
            stop = start + 1
            while stop < len(entries) and entries[stop][0] == moment:
                stop += 1
            yield moment, [event for _, event in entries[start:stop]]
            start = stop


def compute_features(history: Iterable[events_pb2.Event] | Timeline, as_of: datetime) -> Features:
    """The features of one enterprise from its events that occurred strictly before `as_of`."""
    timeline = history if isinstance(history, Timeline) else Timeline(history)
    fold = HistoryFold()
    for moment, event in timeline.entries:
        if moment >= as_of:
            break  # in time order: nothing later may count
        fold.add(moment, event)
    return fold.features(as_of)


def features_before_inspections(
    history: Iterable[events_pb2.Event] | Timeline,
) -> Iterator[tuple[datetime, events_pb2.Event, Features]]:
    """(time, the InspectionCompleted event, the features as of that time) for every inspection, in one
    pass: the events at a time are folded in only after the inspections at that time are read, so each
    row sees only what happened strictly before it (as `compute_features(history, time)` does)."""
    timeline = history if isinstance(history, Timeline) else Timeline(history)
    fold = HistoryFold()
    for moment, events in timeline.at_each_time():
        inspections = [e for e in events if e.WhichOneof("payload") == "inspection_completed"]
        if inspections:
            features = fold.features(moment)
            for event in inspections:
                yield moment, event, features
        for event in events:
            fold.add(moment, event)
