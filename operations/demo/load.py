"""The demo province as history: written to a file in the import format, or imported directly.

Either way the hidden truth the generator drew from (each enterprise's integrity, each inspection's
true violation probability) is kept beside it, for backtests to compare the models against.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from operations.demo.province import EnterpriseHistory, generate_province
from operations.demo.roster import load_roster
from operations.history.importer import ImportSummary, ProblemReporter, import_events
from shared.cloudevents import to_json_line
from shared.events import Event
from shared.settings import Settings

DEFAULT_ENTERPRISES = 2000
TRUTH_SUFFIX = ".truth.json"


# generate_province(enterprises, seed, *, years=..., on_progress=...); tests pass a small fake.
Generator = Callable[..., Iterator[EnterpriseHistory]]


@dataclass(frozen=True)
class Province:
    enterprises: int
    seed: int = 1
    years: int = 5


def demo_dir(settings: Settings) -> Path:
    return settings.var_dir / "demo"


def marker_path(settings: Settings) -> Path:
    """Present once a demo province was loaded into this stack's databases."""
    return demo_dir(settings) / "loaded.json"


def default_generator() -> Generator:
    return generate_province


class Truth:
    """Collects the hidden truth while histories stream past."""

    def __init__(self, province: Province) -> None:
        self.province = province
        self.enterprises: dict[str, dict[str, Any]] = {}
        self.inspections: dict[str, float] = {}

    def keep(self, history: EnterpriseHistory) -> None:
        self.enterprises[history.uscc] = {
            "integrity": history.integrity,
            "region_code": history.region_code,
            "size_class": history.size_class,
        }
        self.inspections.update(history.violation_probability)

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        document = {
            "province": vars(self.province),
            "enterprises": self.enterprises,
            "inspections": self.inspections,
        }
        path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")


def _histories(
    province: Province, generator: Generator, on_progress: Callable[[int], None] | None
) -> Iterator[EnterpriseHistory]:
    return generator(province.enterprises, province.seed, years=province.years, on_progress=on_progress)


def write_province(
    province: Province,
    out: TextIO,
    truth_path: Path,
    *,
    generator: Generator | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Writes the province's events as JSON lines to `out` and its truth to `truth_path`; the event count."""
    truth = Truth(province)
    count = 0
    for history in _histories(province, generator or default_generator(), on_progress):
        truth.keep(history)
        for event in history.events:
            out.write(to_json_line(event) + "\n")
            count += 1
    truth.write(truth_path)
    return count


def load_province(
    settings: Settings,
    province: Province,
    *,
    report: ProblemReporter,
    generator: Generator | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Imports the province into the service databases (the importer's own path, no file in between),
    creates its inspector roster (operations/demo/roster.py), then writes var/demo/truth.json and the
    loaded marker."""
    truth = Truth(province)

    def events() -> Iterator[tuple[str, Event]]:
        for history in _histories(province, generator or default_generator(), on_progress):
            truth.keep(history)
            for number, event in enumerate(history.events, start=1):
                yield f"demo enterprise {history.uscc} event {number}", event

    summary = import_events(settings, events(), report=report)
    inspectors = load_roster(settings)
    truth.write(demo_dir(settings) / "truth.json")
    marker = {
        **vars(province),
        "loaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "events_imported": summary.total_imported,
        "already_present": summary.already_present,
        "rejected": summary.rejected,
        "inspectors_created": inspectors,
    }
    marker_path(settings).write_text(json.dumps(marker, indent=1) + "\n", encoding="utf-8")
    return summary
