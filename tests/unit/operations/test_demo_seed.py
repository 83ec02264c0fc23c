"""`integrity demo seed` and the first-start demo of `integrity stack up`, with a small fake generator."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from operations import stack
from operations.commands import demo as demo_command
from operations.demo.load import Province, load_province, marker_path, write_province
from operations.demo.province import EnterpriseHistory
from shared.cloudevents import from_json_line
from shared.settings import Settings
from tests.history_builder import HistoryBuilder


def fake_province(
    enterprises: int, seed: int = 1, *, years: int = 5, on_progress: Callable[[int], None] | None = None
) -> Iterator[EnterpriseHistory]:
    """generate_province's shape: one enterprise at a time, all its events about it."""
    events = HistoryBuilder(seed=seed).province(enterprises)
    for index, uscc in enumerate(dict.fromkeys(e.subject for e in events)):
        own = [e for e in events if e.subject == uscc]
        inspections = [e.inspection_completed.inspection for e in own if e.HasField("inspection_completed")]
        yield EnterpriseHistory(
            uscc, uscc[2:8], "SIZE_CLASS_SMALL", 0.5 + index / 100, own, dict.fromkeys(inspections, 0.25)
        )
        if on_progress is not None:
            on_progress(1)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path / "var")


def test_seed_to_a_file_writes_the_import_format_and_the_truth(tmp_path: Path) -> None:
    out = tmp_path / "province.jsonl"
    truth_path = tmp_path / "province.jsonl.truth.json"
    progress: list[int] = []
    with out.open("w", encoding="utf-8") as handle:
        count = write_province(
            Province(5, seed=2), handle, truth_path, generator=fake_province, on_progress=progress.append
        )

    events = [from_json_line(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(events) == count and {e.id for e in events} == {
        e.id for e in HistoryBuilder(seed=2).province(5)
    }
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    assert truth["province"] == {"enterprises": 5, "seed": 2, "years": 5}
    assert set(truth["enterprises"]) == {e.subject for e in events}
    first = next(iter(truth["enterprises"].values()))
    assert set(first) == {"integrity", "region_code", "size_class"}
    inspected = {e.inspection_completed.inspection for e in events if e.HasField("inspection_completed")}
    assert set(truth["inspections"]) == inspected
    assert len(progress) == 5


def test_seed_into_the_stack_imports_through_the_importer_and_marks_it_loaded(settings: Settings) -> None:
    problems: list[str] = []
    summary = load_province(
        settings, Province(4), report=lambda where, message: problems.append(message), generator=fake_province
    )
    assert problems == [] and summary.total_imported == len(HistoryBuilder().province(4))
    marker = json.loads(marker_path(settings).read_text(encoding="utf-8"))
    assert marker["enterprises"] == 4 and marker["events_imported"] == summary.total_imported
    assert (settings.var_dir / "demo" / "truth.json").exists()

    again = load_province(settings, Province(4), report=lambda *_: None, generator=fake_province)
    assert again.total_imported == 0 and again.already_present == summary.total_imported


def test_seed_command(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("operations.demo.load.default_generator", lambda: fake_province)
    monkeypatch.setattr(demo_command, "get_settings", lambda: settings)
    parser = argparse.ArgumentParser()
    demo_command.register(parser.add_subparsers())

    args = parser.parse_args(["demo", "seed", "--enterprises", "3", "--out", str(tmp_path / "p.jsonl")])
    assert args.handler(args) == 0
    assert "import with: integrity import" in capsys.readouterr().out
    assert (tmp_path / "p.jsonl.truth.json").exists()

    args = parser.parse_args(["demo", "seed", "--enterprises", "3", "--no-progress"])
    assert args.handler(args) == 0
    assert "0 rejected" in capsys.readouterr().out and marker_path(settings).exists()


def test_the_stack_loads_the_demo_on_the_first_start_only(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(stack.DEMO_ENTERPRISES_ENV, raising=False)
    assert stack.demo_size(settings, None) == stack.DEFAULT_DEMO_ENTERPRISES
    assert stack.demo_size(settings, 0) == 0  # --no-demo
    monkeypatch.setenv(stack.DEMO_ENTERPRISES_ENV, "0")
    assert stack.demo_size(settings, None) == 0
    monkeypatch.setenv(stack.DEMO_ENTERPRISES_ENV, "150")
    assert stack.demo_size(settings, None) == 150

    marker_path(settings).parent.mkdir(parents=True)
    marker_path(settings).write_text("{}", encoding="utf-8")
    assert stack.demo_size(settings, None) == 0  # loaded before
    assert stack.demo_size(settings, 300) == 300  # --demo 300 loads anyway
