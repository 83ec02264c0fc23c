"""Wiring of the inspections service (a placeholder: no database and no workers yet)."""

from __future__ import annotations

from integrity.inspections.v1 import inspections_pb2_grpc
from services.inspections.servicer import InspectionServiceServicer
from shared.grpc_server import ServiceApp
from shared.settings import Settings


def build_app(settings: Settings) -> ServiceApp:
    add_servicer = inspections_pb2_grpc.add_InspectionServiceServicer_to_server
    return ServiceApp(
        name="inspections",
        servicers=[(add_servicer, InspectionServiceServicer())],
        settings=settings,
    )
