"""Inspections answers every method with UNIMPLEMENTED until its issue lands (complaints has landed:
tests/integration/test_complaints_grpc.py)."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from integrity.inspections.v1 import inspections_pb2, inspections_pb2_grpc
from services.inspections.app import build_app as build_inspections
from shared.auth import issue_token
from shared.grpc_server import start
from shared.settings import Settings

pytestmark = pytest.mark.integration


def test_every_placeholder_method_is_unimplemented(tmp_path: Path) -> None:
    settings = Settings(var_dir=tmp_path)
    regulator = (("authorization", f"Bearer {issue_token(settings, 'regulator', region='610100')}"),)
    inspector = (("authorization", f"Bearer {issue_token(settings, 'inspector', region='610100')}"),)
    inspections = start(build_inspections(settings), 0)
    try:
        with grpc.insecure_channel(inspections.address) as i:
            inspection_stub = inspections_pb2_grpc.InspectionServiceStub(i)
            calls = [
                (
                    inspection_stub.CreateInspectionPlan,
                    inspections_pb2.CreateInspectionPlanRequest(),
                    regulator,
                ),
                (inspection_stub.GetInspectionPlan, inspections_pb2.GetInspectionPlanRequest(), regulator),
                (inspection_stub.CompleteInspection, inspections_pb2.CompleteInspectionRequest(), inspector),
            ]
            for method, request, metadata in calls:
                with pytest.raises(grpc.RpcError) as caught:
                    method(request, metadata=metadata, timeout=10)
                assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED  # type: ignore[attr-defined]
                assert "see the" in caught.value.details()  # type: ignore[attr-defined]
    finally:
        inspections.stop(0)
