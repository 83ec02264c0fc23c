"""A plan as a person reads it (`integrity plan show`): enterprises and regions by name, each inspection in
the enterprise's registered region rather than the division that issued its USCC."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from integrity.inspections.v1 import inspections_pb2 as Q
from operations import cli
from services.inspections.adapters.tables import TABLES
from services.inspections.adapters.unit_of_work import InspectionsUnitOfWork
from services.inspections.domain.plans import validate_plan_request
from services.inspections.entrypoints.consumer import handle_event
from services.inspections.use_cases.inspectors import create_inspector
from services.inspections.use_cases.plans import create_plan
from shared.auth import Principal, Role
from shared.db import create_tables, make_engine
from tests.helpers import enterprise_registered, valid_uscc

REGULATOR = Principal("regulator@610100", Role.REGULATOR, region="610100")


def test_plan_show_names_enterprises_and_regions_where_they_are_registered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{(tmp_path / 'inspections.db').as_posix()}"
    engine = make_engine(url)
    create_tables(engine, TABLES)
    # Issued in Fuzhou (350100), registered in Xi'an's Weiyang district: Xi'an's plan, Xi'an's region.
    moved = valid_uscc(1, "350100")
    with InspectionsUnitOfWork(engine) as uow:
        handle_event(uow, enterprise_registered(moved, region="610112"), "integrity.enterprises.v1")
        uow.commit()
    for badge in ("XA1", "XA2"):
        create_inspector(
            InspectionsUnitOfWork(engine),
            badge,
            badge,
            "610100",
            [Q.QUALIFICATION_FUEL_DISPENSERS],
            REGULATOR,
        )
    request = validate_plan_request("610100", 0, [(0, 1.0)], 5)
    view = create_plan(InspectionsUnitOfWork(engine), request, "", REGULATOR)
    assert [(i.uscc, i.region_code) for i in view.inspections] == [(moved, "610112")]
    engine.dispose()

    capsys.readouterr()
    assert cli.main(["plan", "show", view.plan.name, "--database-url", url]) == 0
    captured = capsys.readouterr()
    [row] = list(csv.DictReader(io.StringIO(captured.out)))
    assert row["uscc"] == moved and row["enterprise_name"] == "西安市某某加油站有限公司"
    assert (row["region_code"], row["region_name"]) == ("610112", "陕西省西安市未央区")
    assert row["subject_type"] == "TRADE_INSTRUMENT_USER" and row["state"] == "PLANNED"
    assert set(row["inspectors"].split()) == {"XA1", "XA2"}
    assert "1 inspections in 610100" in captured.err
    assert cli.main(["plan", "show", "inspectionPlans/0123456789abcdef01234567", "--database-url", url]) == 2
