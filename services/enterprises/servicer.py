"""gRPC adapter of the enterprise registry: requests in, use cases, responses out.

Errors are shared.errors.IntegrityError; the platform interceptor turns them into AIP-193 statuses.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc

from integrity.enterprises.v1 import enterprises_pb2, enterprises_pb2_grpc
from services.enterprises import service
from services.enterprises.messages import draft_from_proto, to_proto
from services.enterprises.unit_of_work import EnterprisesUoW
from shared.auth import current_principal
from shared.errors import FieldViolation, invalid_argument


class EnterpriseServiceServicer(enterprises_pb2_grpc.EnterpriseServiceServicer):
    def __init__(self, uow_factory: Callable[[], EnterprisesUoW], wake: Callable[[], None] | None = None):
        self._uow_factory = uow_factory
        # Called after a commit that wrote outbox events, so the relay publishes them without waiting.
        self._wake = wake or (lambda: None)

    def CreateEnterprise(
        self, request: enterprises_pb2.CreateEnterpriseRequest, context: grpc.ServicerContext
    ) -> enterprises_pb2.CreateEnterpriseResponse:
        if not request.HasField("enterprise"):
            raise invalid_argument([FieldViolation("enterprise", "is required")])
        uow = self._uow_factory()
        result = service.create_enterprise(
            uow, draft_from_proto(request.enterprise), request.request_id, current_principal()
        )
        if uow.committed_events:
            self._wake()
        return enterprises_pb2.CreateEnterpriseResponse(enterprise=to_proto(result.enterprise))

    def GetEnterprise(
        self, request: enterprises_pb2.GetEnterpriseRequest, context: grpc.ServicerContext
    ) -> enterprises_pb2.GetEnterpriseResponse:
        enterprise = service.get_enterprise(self._uow_factory(), request.name, current_principal())
        return enterprises_pb2.GetEnterpriseResponse(enterprise=to_proto(enterprise))

    def ListEnterprises(
        self, request: enterprises_pb2.ListEnterprisesRequest, context: grpc.ServicerContext
    ) -> enterprises_pb2.ListEnterprisesResponse:
        page = service.list_enterprises(
            self._uow_factory(),
            current_principal(),
            filter_text=request.filter,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return enterprises_pb2.ListEnterprisesResponse(
            enterprises=[to_proto(e) for e in page.enterprises], next_page_token=page.next_page_token
        )
