"""The complaints service's gRPC servicer: requests in, use cases, responses out.

Errors are shared.errors.IntegrityError; the platform interceptor turns them into AIP-193 statuses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import grpc

from integrity.complaints.v1 import complaints_pb2, complaints_pb2_grpc
from services.complaints.adapters.mapping import (
    contact_from_proto,
    contact_to_proto,
    draft_from_proto,
    to_proto,
)
from services.complaints.domain.complaint import Complaint, Resolution
from services.complaints.domain.deadlines import Rules
from services.complaints.use_cases import filing, reading, workflow
from services.complaints.use_cases.unit_of_work import ComplaintsUoW
from shared.auth import Principal, Role, current_principal
from shared.errors import FieldViolation, invalid_argument
from shared.events import utcnow

P = complaints_pb2


class ComplaintServiceServicer(complaints_pb2_grpc.ComplaintServiceServicer):
    def __init__(
        self,
        uow_factory: Callable[[], ComplaintsUoW],
        rules: Rules,
        wake: Callable[[], None] | None = None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow_factory = uow_factory
        self._rules = rules
        # Called after a commit that wrote outbox events, so the relay publishes them without waiting.
        self._wake = wake or (lambda: None)
        # What time it is: deadlines count working days from the China date of filing and acceptance.
        self._clock = clock

    def _view(self, complaint: Complaint, principal: Principal) -> P.Complaint:
        return to_proto(complaint, self._rules.deadlines, for_enterprise=principal.role == Role.ENTERPRISE)

    def CreateComplaint(
        self, request: P.CreateComplaintRequest, context: grpc.ServicerContext
    ) -> P.CreateComplaintResponse:
        if not request.HasField("complaint"):
            raise invalid_argument([FieldViolation("complaint", "is required")])
        principal = current_principal()
        uow = self._uow_factory()
        filed = filing.create_complaint(
            uow,
            draft_from_proto(request.complaint),
            contact_from_proto(request),
            request.request_id,
            principal,
            self._rules,
            now=self._clock(),
        )
        if uow.committed_events:
            self._wake()
        return P.CreateComplaintResponse(
            complaint=self._view(filed.complaint, principal),
            receipt_code=filed.complaint.receipt_code,
            complainant=contact_to_proto(filed.contact),
        )

    def GetComplaint(
        self, request: P.GetComplaintRequest, context: grpc.ServicerContext
    ) -> P.GetComplaintResponse:
        principal = current_principal()
        read = reading.get_complaint(self._uow_factory(), request.name, principal)
        return P.GetComplaintResponse(
            complaint=self._view(read.complaint, principal), complainant=contact_to_proto(read.contact)
        )

    def GetComplaintByReceipt(
        self, request: P.GetComplaintByReceiptRequest, context: grpc.ServicerContext
    ) -> P.GetComplaintByReceiptResponse:
        complaint = reading.get_by_receipt(self._uow_factory(), request.receipt_code)
        response = P.GetComplaintByReceiptResponse(state=complaint.state)  # type: ignore[arg-type]
        response.create_time.FromDatetime(complaint.create_time)
        response.update_time.FromDatetime(complaint.update_time)
        return response

    def ListComplaints(
        self, request: P.ListComplaintsRequest, context: grpc.ServicerContext
    ) -> P.ListComplaintsResponse:
        principal = current_principal()
        page = reading.list_complaints(
            self._uow_factory(),
            principal,
            filter_text=request.filter,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return P.ListComplaintsResponse(
            complaints=[self._view(c, principal) for c in page.complaints],
            next_page_token=page.next_page_token,
        )

    def ListOverdueComplaints(
        self, request: P.ListOverdueComplaintsRequest, context: grpc.ServicerContext
    ) -> P.ListOverdueComplaintsResponse:
        principal = current_principal()
        page = reading.list_overdue(
            self._uow_factory(),
            principal,
            self._rules,
            region_code=request.region_code,
            page_size=request.page_size,
            page_token=request.page_token,
            now=self._clock(),
        )
        return P.ListOverdueComplaintsResponse(
            complaints=[self._view(c, principal) for c in page.complaints],
            next_page_token=page.next_page_token,
        )

    def _acted(self, uow: ComplaintsUoW, complaint: Complaint) -> P.Complaint:
        if uow.committed_events:
            self._wake()
        return self._view(complaint, current_principal())

    def AcceptComplaint(
        self, request: P.AcceptComplaintRequest, context: grpc.ServicerContext
    ) -> P.AcceptComplaintResponse:
        uow = self._uow_factory()
        complaint = workflow.accept_complaint(
            uow, request.name, request.etag, current_principal(), now=self._clock()
        )
        return P.AcceptComplaintResponse(complaint=self._acted(uow, complaint))

    def RejectComplaint(
        self, request: P.RejectComplaintRequest, context: grpc.ServicerContext
    ) -> P.RejectComplaintResponse:
        uow = self._uow_factory()
        complaint = workflow.reject_complaint(
            uow, request.name, request.reason, request.etag, current_principal(), now=self._clock()
        )
        return P.RejectComplaintResponse(complaint=self._acted(uow, complaint))

    def InvestigateComplaint(
        self, request: P.InvestigateComplaintRequest, context: grpc.ServicerContext
    ) -> P.InvestigateComplaintResponse:
        uow = self._uow_factory()
        complaint = workflow.investigate_complaint(
            uow, request.name, request.etag, current_principal(), now=self._clock()
        )
        return P.InvestigateComplaintResponse(complaint=self._acted(uow, complaint))

    def ResolveComplaint(
        self, request: P.ResolveComplaintRequest, context: grpc.ServicerContext
    ) -> P.ResolveComplaintResponse:
        uow = self._uow_factory()
        resolution = Resolution(
            request.substantiated, request.severity, request.resolution, request.reward_eligible
        )
        complaint = workflow.resolve_complaint(
            uow, request.name, resolution, request.etag, current_principal(), now=self._clock()
        )
        return P.ResolveComplaintResponse(complaint=self._acted(uow, complaint))

    def CloseComplaint(
        self, request: P.CloseComplaintRequest, context: grpc.ServicerContext
    ) -> P.CloseComplaintResponse:
        uow = self._uow_factory()
        complaint = workflow.close_complaint(
            uow, request.name, request.etag, current_principal(), now=self._clock()
        )
        return P.CloseComplaintResponse(complaint=self._acted(uow, complaint))
