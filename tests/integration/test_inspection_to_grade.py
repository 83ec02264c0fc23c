"""End to end through the real broker: a SERIOUS_VIOLATION recorded by the inspections service moves the
enterprise to grade D in scoring, with a reason saying so. The inspections service learns of the
enterprise and its grade only from events (no synchronous calls)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from sqlmodel import Session

from integrity.inspections.v1 import inspections_pb2 as P
from integrity.inspections.v1 import inspections_pb2_grpc
from integrity.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from operations.broker import LocalBroker
from services.enterprises.bootstrap import build_app as build_enterprises
from services.inspections.adapters.tables import EnterpriseCopyRow
from services.inspections.bootstrap import build_app as build_inspections
from services.scoring.bootstrap import build_app as build_scoring
from shared.auth import Role, issue_token
from shared.db import make_engine
from shared.grpc_server import RunningService, start
from shared.settings import Settings
from tests.helpers import create_enterprise, valid_uscc, wait_until

pytestmark = pytest.mark.integration
REGION = "610902"  # a county no other test uses, so the plan sees only this test's enterprise


def _auth(settings: Settings, role: Role, **claims: str) -> list[tuple[str, str]]:
    return [("authorization", f"Bearer {issue_token(settings, role, **claims)}")]


def _grade(
    stub: scoring_pb2_grpc.ScoringServiceStub, uscc: str, auth: list[tuple[str, str]]
) -> scoring_pb2.Grade | None:
    try:
        return stub.GetGrade(
            scoring_pb2.GetGradeRequest(name=f"enterprises/{uscc}/grade"), metadata=auth, timeout=5
        ).grade
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.NOT_FOUND, err
        return None


def test_a_serious_violation_recorded_here_moves_the_enterprise_to_grade_d(
    tmp_path: Path, broker: LocalBroker
) -> None:
    settings = Settings(
        var_dir=tmp_path,
        kafka_bootstrap_servers=broker.bootstrap,
        enterprises_database_url=f"sqlite:///{tmp_path / 'enterprises.db'}",
        scoring_database_url=f"sqlite:///{tmp_path / 'scoring.db'}",
        inspections_database_url=f"sqlite:///{tmp_path / 'inspections.db'}",
        relay_poll_seconds=0.1,
    )
    system = _auth(settings, Role.SYSTEM, subject="business-registry")
    regulator = _auth(settings, Role.REGULATOR, region="610900")
    uscc = valid_uscc(90210, region=REGION)
    running: list[RunningService] = []
    try:
        for build in (build_enterprises, build_scoring, build_inspections):
            running.append(start(build(settings), 0))
        enterprises, scoring, inspections = running
        with (
            grpc.insecure_channel(enterprises.address) as e_channel,
            grpc.insecure_channel(scoring.address) as s_channel,
            grpc.insecure_channel(inspections.address) as i_channel,
        ):
            create_enterprise(e_channel, uscc, REGION, issue_token(settings, Role.SYSTEM, subject="registry"))
            scoring_stub = scoring_pb2_grpc.ScoringServiceStub(s_channel)
            first = wait_until(lambda: _grade(scoring_stub, uscc, system), timeout=60, interval=0.2)
            assert first.level != scoring_pb2.GRADE_LEVEL_D

            # The local copy hears of the enterprise and its grade through Kafka.
            engine = make_engine(settings.database_url("inspections"))
            try:

                def copied() -> EnterpriseCopyRow | None:
                    with Session(engine) as session:
                        row = session.get(EnterpriseCopyRow, uscc)
                        return row if row is not None and row.status and row.grade_level else None

                copy = wait_until(copied, timeout=60, interval=0.2, message="no local copy of the enterprise")
            finally:
                engine.dispose()
            assert copy.grade_level == first.level and copy.region_code == REGION

            stub = inspections_pb2_grpc.InspectionServiceStub(i_channel)
            for badge in ("AK01", "AK02"):
                stub.CreateInspector(
                    P.CreateInspectorRequest(
                        inspector_id=badge,
                        inspector=P.Inspector(
                            display_name=badge,
                            region_code=REGION,
                            qualifications=[P.QUALIFICATION_FUEL_DISPENSERS],
                        ),
                    ),
                    metadata=regulator,
                    timeout=10,
                )
            every_level = [P.SamplingRatio(level=level, ratio=1.0) for level in range(5)]
            plan = stub.CreateInspectionPlan(
                P.CreateInspectionPlanRequest(
                    inspection_plan=P.InspectionPlan(region_code=REGION, sampling_ratios=every_level),
                    request_id=str(uuid.uuid4()),
                ),
                metadata=regulator,
                timeout=10,
            ).inspection_plan
            detail = stub.GetInspectionPlan(
                P.GetInspectionPlanRequest(name=plan.name), metadata=regulator, timeout=10
            )
            inspection = next(i for i in detail.inspections if i.enterprise == f"enterprises/{uscc}")

            request = P.CompleteInspectionRequest(
                name=inspection.name,
                outcome=P.INSPECTION_OUTCOME_SERIOUS_VIOLATION,
                findings=P.Findings(
                    instruments=[
                        P.InstrumentFinding(
                            instrument="SN-7",
                            verification_status=P.VERIFICATION_STATUS_FAILED,
                            tampering_found=True,
                        )
                    ]
                ),
                penalty_reference="安市监罚〔2026〕7号",
            )
            request.rectification_deadline.FromDatetime(datetime.now(UTC) + timedelta(days=30))
            lead = _auth(settings, Role.INSPECTOR, subject=inspection.inspectors[0], region=REGION)
            stub.CompleteInspection(request, metadata=lead, timeout=10)

            def graded_d() -> scoring_pb2.Grade | None:
                grade = _grade(scoring_stub, uscc, system)
                return grade if grade is not None and grade.level == scoring_pb2.GRADE_LEVEL_D else None

            grade = wait_until(graded_d, timeout=60, interval=0.2, message="the grade never became D")
            assert "SERIOUS_VIOLATION" in [r.code for r in grade.reasons]
    finally:
        for service in reversed(running):
            service.stop(1)
