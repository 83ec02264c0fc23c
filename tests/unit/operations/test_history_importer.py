"""History import and export against real SQLite databases (no broker): validation through the owning
service's rules, the registry and outbox writes, idempotency, per-line errors, and the command line."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from integrity.scoring.v1 import scoring_pb2
from operations.commands import history as history_command
from operations.history.exporter import export_history
from operations.history.importer import ImportSummary, import_events, import_lines
from services.enterprises.adapters.repository import SqlDeclarationRepository, SqlEnterpriseRepository
from services.enterprises.adapters.tables import EnterpriseRow, InstrumentRow, VerificationRow
from services.enterprises.domain.enterprise import EnterpriseDraft, validate_registration
from shared.cloudevents import from_json_line, to_json_line
from shared.db import make_engine
from shared.errors import IntegrityError
from shared.events import Event, new_event
from shared.outbox import OutboxRecord
from shared.settings import Settings
from tests.helpers import enterprise_registered, valid_uscc
from tests.history_builder import HistoryBuilder

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "history.jsonl"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(var_dir=tmp_path / "var")


class Problems(list[str]):
    def __call__(self, where: str, message: str) -> None:
        self.append(f"{where}: {message}")


def numbered(lines: list[str], name: str = "h.jsonl") -> list[tuple[str, str]]:
    return [(f"{name}:{number}", line) for number, line in enumerate(lines, start=1)]


def run_import(settings: Settings, lines: list[str], **options: Any) -> tuple[ImportSummary, Problems]:
    problems = Problems()
    return import_lines(settings, numbered(lines), report=problems, **options), problems


def outbox_ids(settings: Settings, service: str) -> list[str]:
    engine = make_engine(settings.database_url(service))  # type: ignore[arg-type]
    try:
        with Session(engine) as session:
            return list(session.execute(select(OutboxRecord.event_id).order_by(OutboxRecord.id)).scalars())
    finally:
        engine.dispose()


def count(settings: Settings, table: Any) -> int:
    engine = make_engine(settings.database_url("enterprises"))
    try:
        with Session(engine) as session:
            return int(session.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


def in_registry(settings: Settings, read: Callable[[Session], Any]) -> Any:
    engine = make_engine(settings.database_url("enterprises"))
    try:
        with Session(engine) as session:
            return read(session)
    finally:
        engine.dispose()


def test_the_documented_example_imports_cleanly_into_outboxes_and_registry(settings: Settings) -> None:
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    summary, problems = run_import(settings, lines)

    assert problems == []
    assert summary.imported == {"enterprises": 5, "complaints": 3, "inspections": 3, "scoring": 0}
    events = [from_json_line(line) for line in lines]
    for service, source in (
        ("enterprises", "enterprises"),
        ("complaints", "complaints"),
        ("inspections", "inspections"),
    ):
        expected = [e.id for e in events if e.source == f"//integrity/{source}"]
        assert outbox_ids(settings, service) == expected
    # GetEnterprise and LookupPublicCode read the registry: the imported enterprise and commitment are there.
    uscc = events[0].subject
    enterprise = in_registry(settings, lambda s: SqlEnterpriseRepository(s).get(uscc))
    assert enterprise.display_name == "西安市雁塔区诚信加油站有限公司"
    assert enterprise.create_time == events[0].occurred_at.ToDatetime(tzinfo=UTC)
    commitment = in_registry(settings, lambda s: SqlDeclarationRepository(s).by_public_code("CMT-7KQ2M9XHPA"))
    assert commitment is not None and commitment.uscc == uscc
    assert count(settings, InstrumentRow) == 1 and count(settings, VerificationRow) == 1


def test_importing_the_same_file_twice_changes_nothing(settings: Settings) -> None:
    lines = [to_json_line(event) for event in HistoryBuilder().province(12)]
    first, problems = run_import(settings, lines, batch_size=50)
    assert problems == [] and first.total_imported == len(lines)
    before = {
        service: outbox_ids(settings, service) for service in ("enterprises", "complaints", "inspections")
    }
    rows = [count(settings, table) for table in (EnterpriseRow, InstrumentRow, VerificationRow)]

    again, problems = run_import(settings, lines, batch_size=7)

    assert problems == []
    assert again.total_imported == 0 and again.already_present == len(lines)
    assert {service: outbox_ids(settings, service) for service in before} == before
    assert [count(settings, table) for table in (EnterpriseRow, InstrumentRow, VerificationRow)] == rows


def test_a_bad_line_is_reported_with_its_number_and_the_rest_lands(settings: Settings) -> None:
    lines = [to_json_line(event) for event in HistoryBuilder().province(4)]
    middle = len(lines) // 2
    lines[middle:middle] = ["{this is not json"]
    bad_region = enterprise_registered(valid_uscc(77))
    bad_region.enterprise_registered.enterprise.region_code = "999999"
    lines.append(to_json_line(bad_region))
    lines.append("")  # blank lines are not events

    summary, problems = run_import(settings, lines)

    assert problems[0].startswith(f"h.jsonl:{middle + 1}: not JSON")
    assert problems[1].startswith(f"h.jsonl:{len(lines) - 1}: EnterpriseRegistered: enterprise.region_code: ")
    assert summary.rejected == 2 and summary.total_imported == len(lines) - 3


def test_an_enterprise_is_refused_in_the_words_of_the_api(settings: Settings) -> None:
    event = enterprise_registered(valid_uscc(5))
    enterprise = event.enterprise_registered.enterprise
    enterprise.region_code, enterprise.industry_code = "990000", "Z99"
    draft = EnterpriseDraft(
        enterprise.uscc, enterprise.display_name, "990000", "Z99", enterprise.subject_type
    )
    with pytest.raises(IntegrityError) as api:
        validate_registration(draft)

    _, problems = run_import(settings, [to_json_line(event)])

    assert problems == [f"h.jsonl:1: EnterpriseRegistered: {api.value.message}"]
    assert "enterprise.region_code" in problems[0] and "enterprise.industry_code" in problems[0]


def _at(event: Event, when: datetime) -> Event:
    event.occurred_at.FromDatetime(when)
    return event


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (
            lambda: new_event(
                "//integrity/scoring",
                valid_uscc(1),
                events_pb2.GradeChanged(grade=scoring_pb2.Grade(level=scoring_pb2.GRADE_LEVEL_A)),
            ),
            "GradeChanged is a grade, not a decision, and is not imported",
        ),
        (
            lambda: new_event(
                "//x", valid_uscc(1), events_pb2.CreditRepairGranted(rule_code="SERIOUS_VIOLATION")
            ),
            "CreditRepairGranted: credit_repair: must look like enterprises/{uscc}/creditRepairs/{id}",
        ),
        (
            lambda: _at(enterprise_registered(valid_uscc(2)), datetime.now(UTC) + timedelta(days=3)),
            "is in the future",
        ),
        (
            lambda: new_event("//x", "91610100MA0000001X", events_pb2.RectificationCompleted(inspection="i")),
            "is not a valid USCC",
        ),
        (
            lambda: new_event(
                "//integrity/inspections",
                valid_uscc(3),
                events_pb2.InspectionCompleted(
                    inspection="inspections/0194b2c3d4e5f6a7b8c9d0e1",
                    outcome=4,  # SERIOUS_VIOLATION in the API; the findings say nothing serious: fine
                    summary=events_pb2.InspectionFindingSummary(inspection_refused=True),
                ),
            ),
            None,
        ),
        (
            lambda: new_event(
                "//integrity/inspections",
                valid_uscc(3),
                events_pb2.InspectionCompleted(
                    inspection="inspections/0194b2c3d4e5f6a7b8c9d0e1",
                    outcome=2,
                    summary=events_pb2.InspectionFindingSummary(inspection_refused=True),
                ),
            ),
            "outcome: must be SERIOUS_VIOLATION",
        ),
        (
            lambda: new_event(
                "//integrity/complaints",
                valid_uscc(4),
                events_pb2.ComplaintResolved(
                    complaint="complaints/0193a1b2c3d4e5f6a7b8c9d0", category=1, substantiated=True
                ),
            ),
            "severity: is required",
        ),
        (
            lambda: new_event(
                "//integrity/enterprises",
                valid_uscc(6),
                events_pb2.InstrumentRegistered(
                    instrument=enterprises_pb2.Instrument(
                        name=f"enterprises/{valid_uscc(6)}/instruments/3f9a1c0d2b7e4a55",
                        type=1,
                        serial_number="S1",
                    )
                ),
            ),
            f"InstrumentRegistered: enterprises/{valid_uscc(6)} does not exist",
        ),
        (
            lambda: new_event(
                "//integrity/enterprises",
                valid_uscc(6),
                events_pb2.InstrumentRegistered(
                    instrument=enterprises_pb2.Instrument(
                        name=f"enterprises/{valid_uscc(7)}/instruments/3f9a1c0d2b7e4a55",
                        type=1,
                        serial_number="S1",
                    )
                ),
            ),
            "instrument.name: names",
        ),
    ],
)
def test_what_the_owning_service_would_refuse_is_refused(
    settings: Settings, make: Callable[[], Event], expected: str | None
) -> None:
    from integrity.inspections.v1 import inspections_pb2

    assert inspections_pb2.INSPECTION_OUTCOME_SERIOUS_VIOLATION == 4  # the numbers used above
    summary, problems = run_import(settings, [to_json_line(make())])
    if expected is None:
        assert problems == [] and summary.total_imported == 1
    else:
        assert len(problems) == 1 and expected in problems[0], problems
        assert summary.rejected == 1 and summary.total_imported == 0


def test_a_dry_run_checks_everything_and_writes_nothing(settings: Settings) -> None:
    events = HistoryBuilder().province(3)
    lines = [to_json_line(event) for event in events]
    # Refused only because its registration, earlier in the same run, is then seen as a duplicate.
    again = enterprise_registered(events[0].subject)
    lines.append(to_json_line(again))

    summary, problems = run_import(settings, lines, dry_run=True, batch_size=4)

    assert summary.total_imported == len(events) and summary.rejected == 1
    assert "already exists" in problems[0]
    assert all(
        outbox_ids(settings, service) == [] for service in ("enterprises", "complaints", "inspections")
    )
    assert count(settings, EnterpriseRow) == 0


def test_export_is_the_import_again_in_time_order(settings: Settings, tmp_path: Path) -> None:
    events = HistoryBuilder(seed=3).province(6)
    shuffled = events[1::2] + events[0::2]  # registrations first is all the registry needs
    shuffled.sort(key=lambda event: event.WhichOneof("payload") != "enterprise_registered")
    _, problems = run_import(settings, [to_json_line(event) for event in shuffled])
    assert problems == []

    out = io.StringIO()
    assert export_history(settings, out) == len(events)
    assert [from_json_line(line) for line in out.getvalue().splitlines()] == events

    since = events[len(events) // 2].occurred_at.ToDatetime(tzinfo=UTC)
    later = io.StringIO()
    export_history(settings, later, since=since)
    assert [from_json_line(line).id for line in later.getvalue().splitlines()] == [
        e.id for e in events if e.occurred_at.ToDatetime(tzinfo=UTC) >= since
    ]


def test_events_import_without_a_file(settings: Settings) -> None:
    events = HistoryBuilder().province(2)
    problems = Problems()
    summary = import_events(settings, [(f"event {i}", e) for i, e in enumerate(events)], report=problems)
    assert problems == [] and summary.total_imported == len(events)


# --- the command line ------------------------------------------------------------------------------------


def cli(argv: list[str], settings: Settings, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(history_command, "get_settings", lambda: settings)
    parser = argparse.ArgumentParser()
    history_command.register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return int(args.handler(args))


def test_import_command_exit_codes_and_messages(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    assert cli(["import", str(good), "--no-progress"], settings, monkeypatch) == 0
    assert "imported 11 events" in capsys.readouterr().out
    assert cli(["import", str(good)], settings, monkeypatch) == 0  # with the progress bar, all present
    assert "11 already present" in capsys.readouterr().out

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"oops"\n', encoding="utf-8")
    assert cli(["import", str(bad), "--no-progress"], settings, monkeypatch) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith(f"{bad}:1: not JSON") and "1 rejected" in captured.out

    assert cli(["import", str(tmp_path / "missing.jsonl")], settings, monkeypatch) == 2
    assert "cannot read" in capsys.readouterr().err
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage\n")
    assert cli(["import", str(binary), "--no-progress"], settings, monkeypatch) == 2

    exported = tmp_path / "export.jsonl"
    assert cli(["export", str(exported)], settings, monkeypatch) == 0
    assert "exported 11 events" in capsys.readouterr().out
    exported_events = [from_json_line(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    example_events = [from_json_line(line) for line in good.read_text(encoding="utf-8").splitlines()]
    assert [e.id for e in exported_events] == [e.id for e in example_events]
    # The example has no recordedtime: the import stamped its own time, and the export carries it.
    assert all(e.HasField("recorded_at") for e in exported_events)
    assert cli(["export", "-", "--since", "2023-01-01"], settings, monkeypatch) == 0
    assert [json.loads(line)["time"] for line in capsys.readouterr().out.splitlines()] == [
        "2023-04-18T02:00:00Z"
    ]
    assert cli(["export", "-", "--since", "soon"], settings, monkeypatch) == 2
