"""Wiring of the complaints service (a placeholder: no database and no workers yet)."""

from __future__ import annotations

from integrity.complaints.v1 import complaints_pb2_grpc
from services.complaints.servicer import ComplaintServiceServicer
from shared.grpc_server import ServiceApp
from shared.settings import Settings


def build_app(settings: Settings) -> ServiceApp:
    return ServiceApp(
        name="complaints",
        servicers=[(complaints_pb2_grpc.add_ComplaintServiceServicer_to_server, ComplaintServiceServicer())],
        settings=settings,
    )
