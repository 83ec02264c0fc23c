"""InspectionService over a real socket: roster, a plan, an unassigned inspector refused with nothing
written, an assigned one recording the result, and the public list without a token."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from sqlmodel import Session, select

from integrity.inspections.v1 import inspections_pb2 as P
from integrity.inspections.v1 import inspections_pb2_grpc
from services.inspections.adapters.tables import InspectionRow
from services.inspections.adapters.unit_of_work import InspectionsUnitOfWork
from services.inspections.bootstrap import build_app
from services.inspections.entrypoints.consumer import handle_event
from services.inspections.manifest import SERVICE
from services.inspections.settings import InspectionSettings
from shared.auth import Role, issue_token
from shared.db import make_engine
from shared.grpc_server import start
from shared.migrations import upgrade
from shared.outbox import OutboxRecord
from shared.settings import Settings
from tests.helpers import enterprise_registered, free_port, valid_uscc

pytestmark = pytest.mark.integration


def _bearer(settings: Settings, role: Role, **claims: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {issue_token(settings, role, **claims)}"),)


def _code(call: object) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as caught:
        call()  # type: ignore[operator]
    return caught.value.code()  # type: ignore[attr-defined,no-any-return]


def test_only_assigned_inspectors_complete_and_results_are_published(tmp_path: Path) -> None:
    url = f"sqlite:///{(tmp_path / 'inspections.db').as_posix()}"
    settings = Settings(
        var_dir=tmp_path,
        inspections_database_url=url,
        kafka_bootstrap_servers=f"127.0.0.1:{free_port()}",  # no broker: the outbox keeps the events
    )
    engine = make_engine(url)
    upgrade(engine, SERVICE)  # as `integrity db upgrade` makes it: the service checks the revision
    uscc = valid_uscc(77)
    with InspectionsUnitOfWork(engine) as uow:
        handle_event(uow, enterprise_registered(uscc), "integrity.enterprises.v1")
        uow.commit()

    regulator = _bearer(settings, Role.REGULATOR, region="610100")
    running = start(build_app(settings, own=InspectionSettings(publication_working_days=0)), 0)
    try:
        with grpc.insecure_channel(running.address) as channel:
            stub = inspections_pb2_grpc.InspectionServiceStub(channel)
            for badge in ("XA001", "XA002", "XA003"):
                stub.CreateInspector(
                    P.CreateInspectorRequest(
                        inspector_id=badge,
                        inspector=P.Inspector(
                            display_name=f"Officer {badge}",
                            region_code="610100",
                            qualifications=[P.QUALIFICATION_FUEL_DISPENSERS],
                        ),
                    ),
                    metadata=regulator,
                    timeout=10,
                )
            listed = stub.ListInspectors(P.ListInspectorsRequest(), metadata=regulator, timeout=10)
            assert [i.name for i in listed.inspectors] == [
                "inspectors/XA001",
                "inspectors/XA002",
                "inspectors/XA003",
            ]

            plan = stub.CreateInspectionPlan(
                P.CreateInspectionPlanRequest(
                    inspection_plan=P.InspectionPlan(
                        region_code="610100",
                        seed=2026,
                        # Not graded yet: draw every ungraded enterprise.
                        sampling_ratios=[P.SamplingRatio(level=0, ratio=1.0)],
                    ),
                    request_id=str(uuid.uuid4()),
                ),
                metadata=regulator,
                timeout=10,
            ).inspection_plan
            assert len(plan.inspections) == 1
            detail = stub.GetInspectionPlan(
                P.GetInspectionPlanRequest(name=plan.name), metadata=regulator, timeout=10
            )
            inspection = detail.inspections[0]

            # The region's plans, newest first; another city's regulator sees none and may not ask.
            plans = stub.ListInspectionPlans(P.ListInspectionPlansRequest(), metadata=regulator, timeout=10)
            assert [p.name for p in plans.inspection_plans] == [plan.name]
            assert list(plans.inspection_plans[0].inspections) == [inspection.name]
            baoji = _bearer(settings, Role.REGULATOR, region="610300")
            assert not stub.ListInspectionPlans(
                P.ListInspectionPlansRequest(), metadata=baoji, timeout=10
            ).inspection_plans
            asked = P.ListInspectionPlansRequest(region_code="610100")
            assert _code(lambda: stub.ListInspectionPlans(asked, metadata=baoji, timeout=10)) == (
                grpc.StatusCode.PERMISSION_DENIED
            )
            verify = P.VerifyInspectionPlanRequest(name=plan.name)
            verified = stub.VerifyInspectionPlan(verify, metadata=regulator, timeout=10)
            assert verified.matches and not verified.differences
            assert _code(lambda: stub.VerifyInspectionPlan(verify, metadata=baoji, timeout=10)) == (
                grpc.StatusCode.PERMISSION_DENIED
            )
            assigned = list(inspection.inspectors)
            outsider = next(n for n in listed.inspectors if n.name not in assigned).name

            request = P.CompleteInspectionRequest(
                name=inspection.name,
                outcome=P.INSPECTION_OUTCOME_SERIOUS_VIOLATION,
                findings=P.Findings(inspection_refused=True),
                penalty_reference="西市监罚〔2026〕1号",
            )
            request.rectification_deadline.FromDatetime(datetime.now(UTC) + timedelta(days=30))
            with Session(engine) as session:
                outbox_before = len(session.exec(select(OutboxRecord)).all())
            as_outsider = _bearer(settings, Role.INSPECTOR, subject=outsider, region="610100")
            assert _code(lambda: stub.CompleteInspection(request, metadata=as_outsider, timeout=10)) == (
                grpc.StatusCode.PERMISSION_DENIED
            )
            with Session(engine) as session:
                assert len(session.exec(select(OutboxRecord)).all()) == outbox_before
                row = session.get(InspectionRow, inspection.name.removeprefix("inspections/"))
                assert row is not None and row.state == P.INSPECTION_STATE_PLANNED and row.outcome == 0

            as_lead = _bearer(settings, Role.INSPECTOR, subject=assigned[0], region="610100")
            done = stub.CompleteInspection(request, metadata=as_lead, timeout=10).inspection
            assert done.state == P.INSPECTION_STATE_RECTIFYING

            published = stub.ListPublishedResults(
                P.ListPublishedResultsRequest(region_code="610100"), timeout=10
            )
            assert [r.enterprise for r in published.results] == [f"enterprises/{uscc}"]
            result = published.results[0]
            assert result.outcome == P.INSPECTION_OUTCOME_SERIOUS_VIOLATION
            assert result.enterprise_display_name == "西安市某某加油站有限公司"
            assert "Officer" not in str(result) and "XA00" not in str(result)
    finally:
        running.stop(0)
        engine.dispose()
