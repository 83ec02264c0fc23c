"""InspectionService over a real socket, on SQLite and PostgreSQL: GetInspection and ListInspections (an
inspector sees their own, a regulator their region's), and a draw anyone can verify: the commitment is
public from the moment the plan is drawn, the seed is revealed with the results, and both the auditor's
`integrity plan verify` and the citizen's `--public` one catch an enterprise picked by hand."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from integrity.inspections.v1 import inspections_pb2 as P
from integrity.inspections.v1 import inspections_pb2_grpc
from operations.catalogue import INSPECTIONS
from operations.cli import main
from services.inspections.adapters.tables import TABLES, InspectionRow
from services.inspections.adapters.unit_of_work import InspectionsUnitOfWork
from services.inspections.bootstrap import build_app
from services.inspections.domain.inspections import PLANNED, Inspection
from services.inspections.domain.worklist import InspectionQuery
from services.inspections.entrypoints.consumer import handle_event
from services.inspections.settings import InspectionSettings
from shared.auth import Role, issue_token
from shared.db import create_tables, make_engine
from shared.grpc_server import start
from shared.migrations import upgrade
from shared.settings import Settings
from tests.helpers import enterprise_registered, free_port, refusal, valid_uscc

pytestmark = pytest.mark.integration
Metadata = tuple[tuple[str, str], ...]
XIAN = [valid_uscc(n, region="610112" if n % 2 else "610113") for n in range(1, 11)]
BADGES = ("XA001", "XA002", "XA003", "XA004")


@dataclass
class Office:
    stub: inspections_pb2_grpc.InspectionServiceStub
    settings: Settings
    engine: Engine
    address: str
    database_url: str

    def auth(self, role: Role, **claims: str) -> Metadata:
        return (("authorization", f"Bearer {issue_token(self.settings, role, **claims)}"),)

    @property
    def xian(self) -> Metadata:
        return self.auth(Role.REGULATOR, region="610100")

    def inspector(self, badge: str) -> Metadata:
        return self.auth(Role.INSPECTOR, subject=f"inspectors/{badge}", region="610100")

    def plan(self, ratio: float = 0.5, seed: int = 0) -> P.InspectionPlan:
        request = P.CreateInspectionPlanRequest(
            inspection_plan=P.InspectionPlan(
                region_code="610100", seed=seed, sampling_ratios=[P.SamplingRatio(level=0, ratio=ratio)]
            ),
            request_id=str(uuid.uuid4()),
        )
        return self.stub.CreateInspectionPlan(request, metadata=self.xian).inspection_plan

    def inspections(self, plan: P.InspectionPlan) -> list[P.Inspection]:
        return list(
            self.stub.GetInspectionPlan(
                P.GetInspectionPlanRequest(name=plan.name), metadata=self.xian
            ).inspections
        )


@pytest.fixture
def office(tmp_path: Path, database_url: str) -> Iterator[Office]:
    settings = Settings(
        var_dir=tmp_path / "var",
        inspections_database_url=database_url,
        kafka_bootstrap_servers=f"127.0.0.1:{free_port()}",  # no broker: the outbox keeps the events
    )
    engine = make_engine(database_url)
    upgrade(engine, INSPECTIONS)  # as `integrity db upgrade` makes it: the service checks the revision
    with InspectionsUnitOfWork(engine) as uow:
        for code in [*XIAN, valid_uscc(99, region="610302")]:
            handle_event(uow, enterprise_registered(code, region=code[2:8]), "integrity.enterprises.v1")
        uow.commit()
    running = start(build_app(settings, own=InspectionSettings(publication_working_days=0)), 0)
    try:
        with grpc.insecure_channel(running.address) as channel:
            office = Office(
                inspections_pb2_grpc.InspectionServiceStub(channel),
                settings,
                engine,
                running.address,
                database_url,
            )
            for badge in BADGES:
                office.stub.CreateInspector(
                    P.CreateInspectorRequest(
                        inspector_id=badge,
                        inspector=P.Inspector(
                            display_name=f"Officer {badge}",
                            region_code="610100",
                            qualifications=[P.QUALIFICATION_FUEL_DISPENSERS],
                        ),
                    ),
                    metadata=office.xian,
                )
            yield office
    finally:
        running.stop(0)
        engine.dispose()


def complete(office: Office, inspection: P.Inspection) -> None:
    request = P.CompleteInspectionRequest(name=inspection.name, outcome=P.INSPECTION_OUTCOME_COMPLIANT)
    office.stub.CompleteInspection(request, metadata=office.inspector(inspection.inspectors[0].split("/")[1]))


def test_inspectors_see_their_own_inspections_and_regulators_their_region(office: Office) -> None:
    plan = office.plan(ratio=1.0)
    drawn = office.inspections(plan)
    assert len(drawn) == len(XIAN)

    by_plan = f'plan = "{plan.name}"'
    first = office.stub.ListInspections(
        P.ListInspectionsRequest(filter=by_plan, page_size=4), metadata=office.xian
    )
    rest = office.stub.ListInspections(
        P.ListInspectionsRequest(filter=by_plan, page_size=100, page_token=first.next_page_token),
        metadata=office.xian,
    )
    listed = [i.name for i in (*first.inspections, *rest.inspections)]
    assert sorted(listed) == sorted(i.name for i in drawn) and listed == sorted(listed)
    county = office.stub.ListInspections(
        P.ListInspectionsRequest(filter='region_code = "610113"'), metadata=office.xian
    )
    assert {i.enterprise for i in county.inspections} == {
        f"enterprises/{c}" for c in XIAN if c[2:8] == "610113"
    }
    one = XIAN[0]
    of_one = office.stub.ListInspections(
        P.ListInspectionsRequest(filter=f'enterprise = "enterprises/{one}"'), metadata=office.xian
    )
    assert [i.enterprise for i in of_one.inspections] == [f"enterprises/{one}"]
    baoji = office.auth(Role.REGULATOR, region="610300")
    assert refusal(
        office.stub.ListInspections, P.ListInspectionsRequest(filter='region_code = "610100"'), baoji
    ).code == (grpc.StatusCode.PERMISSION_DENIED)
    assert refusal(
        office.stub.ListInspections, P.ListInspectionsRequest(filter="state = DONE"), office.xian
    ).fields == {"filter"}

    # An inspector: their own, whatever the filter; asking for a colleague's is refused.
    for badge in BADGES:
        mine = office.stub.ListInspections(
            P.ListInspectionsRequest(), metadata=office.inspector(badge)
        ).inspections
        assert {i.name for i in mine} == {i.name for i in drawn if f"inspectors/{badge}" in i.inspectors}
    colleague = P.ListInspectionsRequest(filter='inspector = "inspectors/XA002"')
    assert (
        refusal(office.stub.ListInspections, colleague, office.inspector("XA001")).code
        == grpc.StatusCode.PERMISSION_DENIED
    )

    target = drawn[0]
    assigned = target.inspectors[0].split("/")[1]
    outsider = next(b for b in BADGES if f"inspectors/{b}" not in target.inspectors)
    got = office.stub.GetInspection(
        P.GetInspectionRequest(name=target.name), metadata=office.inspector(assigned)
    )
    assert got.inspection == target
    assert refusal(
        office.stub.GetInspection, P.GetInspectionRequest(name=target.name), office.inspector(outsider)
    ).code == (grpc.StatusCode.PERMISSION_DENIED)
    assert refusal(office.stub.GetInspection, P.GetInspectionRequest(name=target.name), baoji).code == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    missing = P.GetInspectionRequest(name="inspections/" + "0" * 24)
    assert refusal(office.stub.GetInspection, missing, office.xian).code == grpc.StatusCode.NOT_FOUND

    complete(office, target)
    planned = office.stub.ListInspections(
        P.ListInspectionsRequest(filter=f"{by_plan} AND state = INSPECTION_STATE_PLANNED"),
        metadata=office.xian,
    )
    assert (
        target.name not in {i.name for i in planned.inspections}
        and len(planned.inspections) == len(drawn) - 1
    )


def test_an_inspector_filter_matches_whole_ids_only(database_url: str) -> None:
    # `_` is a LIKE wildcard: XA_1 must not match XAB1's inspections.
    engine = make_engine(database_url)
    create_tables(engine, TABLES)
    now = datetime.now(UTC)
    teams = {"a" * 24: ("XAB1", "XA002"), "b" * 24: ("XA002", "XA_1"), "c" * 24: ("XA_10", "XA003")}
    try:
        with InspectionsUnitOfWork(engine) as uow:
            for position, (inspection_id, team) in enumerate(teams.items()):
                uow.inspections.add(
                    Inspection(
                        inspection_id, "d" * 24, valid_uscc(position), "610100", team, "", PLANNED, now
                    ),
                    position,
                )
            uow.commit()
        with InspectionsUnitOfWork(engine) as uow:
            assert [i.id for i in uow.inspections.list(InspectionQuery(inspector_id="XA_1"), None, 10)] == [
                "b" * 24
            ]
            assert [i.id for i in uow.inspections.list(InspectionQuery(inspector_id="XA002"), None, 10)] == [
                "a" * 24,
                "b" * 24,
            ]
    finally:
        engine.dispose()


def test_a_draw_anyone_can_verify(office: Office, capsys: pytest.CaptureFixture[str]) -> None:
    plan = office.plan(ratio=0.5)
    drawn = office.inspections(plan)
    assert 0 < len(drawn) < len(XIAN)
    commitment = plan.commitment
    assert (
        len(commitment.seed_commitment) == 64
        and not commitment.revealed
        and not commitment.seed_chosen_by_caller
    )

    # Public from the moment it is drawn, without a token: the commitment, never the seed before the reveal.
    public = office.stub.ListPlanCommitments(
        P.ListPlanCommitmentsRequest(region_code="610100")
    ).plan_commitments
    assert [c.plan for c in public] == [plan.name]
    assert public[0].seed == 0 and public[0].seed_salt == "" and public[0].public_inputs == ""
    detail = office.stub.GetPlanCommitment(
        P.GetPlanCommitmentRequest(name=f"{plan.name}/commitment")
    ).plan_commitment
    assert hashlib.sha256(detail.public_inputs.encode()).hexdigest() == detail.public_inputs_hash
    assert not any(code in detail.public_inputs for code in XIAN), "the public inputs name no enterprise"
    assert detail.inspection_count == len(drawn) and detail.seed == 0

    verify = ["plan", "verify", plan.name]
    assert main([*verify, "--database-url", office.database_url]) == 0
    assert "what the plan committed to" in capsys.readouterr().out
    assert main([*verify, "--public", "--address", office.address]) == 0
    assert "not checkable until the reveal" in capsys.readouterr().out

    # Every result published: the seed is revealed, and the public check recomputes the draw.
    for inspection in drawn:
        complete(office, inspection)
    results = office.stub.ListPublishedResults(
        P.ListPublishedResultsRequest(filter=f'plan = "{plan.name}"')
    ).results
    assert len(results) == len(drawn)
    assert all(r.plan == plan.name and r.plan_commitment.revealed and r.draw_opening for r in results)
    assert results[0].plan_commitment.seed == plan.seed and results[0].plan_commitment.seed_salt
    assert main([*verify, "--public", "--address", office.address]) == 0
    assert (
        f"each of the {len(drawn)} published results is an enterprise the seed drew"
        in capsys.readouterr().out
    )

    # An enterprise picked by hand in place of a drawn one: both checks catch it.
    undrawn = next(code for code in XIAN if f"enterprises/{code}" not in {i.enterprise for i in drawn})
    with Session(office.engine) as session:
        row = session.exec(select(InspectionRow).where(InspectionRow.id == drawn[0].name.split("/")[1])).one()
        row.uscc = undrawn
        session.add(row)
        session.commit()
    assert main([*verify, "--database-url", office.database_url]) == 1
    assert f"stored {undrawn}" in capsys.readouterr().err
    assert main([*verify, "--public", "--address", office.address]) == 1
    assert f"enterprises/{undrawn} was inspected but not drawn by the seed" in capsys.readouterr().err
