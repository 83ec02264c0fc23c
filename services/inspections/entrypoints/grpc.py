"""The inspections service's gRPC servicer: requests in, use cases, responses out.

Errors are shared.errors.IntegrityError; the platform interceptor turns them into AIP-193 statuses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import grpc

from integrity.inspections.v1 import inspections_pb2, inspections_pb2_grpc
from services.inspections.adapters.mapping import (
    commitment_to_proto,
    findings_from_proto,
    inspection_to_proto,
    inspector_to_proto,
    plan_to_proto,
    published_to_proto,
    time_of,
)
from services.inspections.domain.plans import validate_plan_request
from services.inspections.use_cases import inspections, inspectors, plans
from services.inspections.use_cases.unit_of_work import InspectionsUoW
from shared.auth import current_principal
from shared.errors import FieldViolation, invalid_argument
from shared.events import utcnow
from shared.workdays import PRC, WorkingCalendar, china_date

P = inspections_pb2


class InspectionServiceServicer(inspections_pb2_grpc.InspectionServiceServicer):
    def __init__(
        self,
        uow_factory: Callable[[], InspectionsUoW],
        publication_working_days: int = 7,
        wake: Callable[[], None] | None = None,
        *,
        calendar: WorkingCalendar = PRC,
        clock: Callable[[], datetime] = utcnow,
        reveal_after: timedelta = plans.DEFAULT_REVEAL_AFTER,
    ) -> None:
        self._uow_factory = uow_factory
        self._publication_working_days = publication_working_days
        # Publication dates count working days on this calendar, from the China date of `clock()`.
        self._calendar = calendar
        self._clock = clock
        self._reveal_after = reveal_after
        # Called after a commit that wrote outbox events, so the relay publishes them without waiting.
        self._wake = wake or (lambda: None)

    def CreateInspector(
        self, request: P.CreateInspectorRequest, context: grpc.ServicerContext
    ) -> P.CreateInspectorResponse:
        if not request.HasField("inspector"):
            raise invalid_argument([FieldViolation("inspector", "is required")])
        given = request.inspector
        inspector = inspectors.create_inspector(
            self._uow_factory(),
            request.inspector_id,
            given.display_name,
            given.region_code,
            list(given.qualifications),
            current_principal(),
        )
        return P.CreateInspectorResponse(inspector=inspector_to_proto(inspector))

    def UpdateInspector(
        self, request: P.UpdateInspectorRequest, context: grpc.ServicerContext
    ) -> P.UpdateInspectorResponse:
        given = request.inspector
        inspector = inspectors.update_inspector(
            self._uow_factory(),
            given.name,
            list(request.update_mask.paths),
            available=given.available,
            qualifications=list(given.qualifications),
            display_name=given.display_name,
            principal=current_principal(),
        )
        return P.UpdateInspectorResponse(inspector=inspector_to_proto(inspector))

    def ListInspectors(
        self, request: P.ListInspectorsRequest, context: grpc.ServicerContext
    ) -> P.ListInspectorsResponse:
        page = inspectors.list_inspectors(
            self._uow_factory(),
            current_principal(),
            request.region_code,
            request.page_size,
            request.page_token,
        )
        return P.ListInspectorsResponse(
            inspectors=[inspector_to_proto(i) for i in page.items], next_page_token=page.next_page_token
        )

    def CreateInspectionPlan(
        self, request: P.CreateInspectionPlanRequest, context: grpc.ServicerContext
    ) -> P.CreateInspectionPlanResponse:
        if not request.HasField("inspection_plan"):
            raise invalid_argument([FieldViolation("inspection_plan", "is required")])
        given = request.inspection_plan
        plan_request = validate_plan_request(
            given.region_code,
            given.subject_type,
            [(r.level, r.ratio) for r in given.sampling_ratios],
            given.seed,
        )
        uow = self._uow_factory()
        view = plans.create_plan(
            uow, plan_request, request.request_id, current_principal(), self._reveal_after
        )
        if uow.committed_events:
            self._wake()
        return P.CreateInspectionPlanResponse(
            inspection_plan=plan_to_proto(view.plan, view.inspections, view.revealed)
        )

    def GetInspectionPlan(
        self, request: P.GetInspectionPlanRequest, context: grpc.ServicerContext
    ) -> P.GetInspectionPlanResponse:
        view = plans.get_plan(self._uow_factory(), request.name, current_principal())
        return P.GetInspectionPlanResponse(
            inspection_plan=plan_to_proto(view.plan, view.inspections, view.revealed),
            inspections=[inspection_to_proto(i) for i in view.inspections],
        )

    def ListInspectionPlans(
        self, request: P.ListInspectionPlansRequest, context: grpc.ServicerContext
    ) -> P.ListInspectionPlansResponse:
        page = plans.list_plans(
            self._uow_factory(),
            current_principal(),
            request.region_code,
            request.page_size,
            request.page_token,
        )
        return P.ListInspectionPlansResponse(
            inspection_plans=[plan_to_proto(view.plan, view.inspections) for view in page.plans],
            next_page_token=page.next_page_token,
        )

    def VerifyInspectionPlan(
        self, request: P.VerifyInspectionPlanRequest, context: grpc.ServicerContext
    ) -> P.VerifyInspectionPlanResponse:
        plans.require_plan_reader(self._uow_factory(), current_principal(), request.name)
        result = plans.verify_plan(self._uow_factory(), request.name)
        return P.VerifyInspectionPlanResponse(matches=result.matches, differences=result.differences)

    def CompleteInspection(
        self, request: P.CompleteInspectionRequest, context: grpc.ServicerContext
    ) -> P.CompleteInspectionResponse:
        deadline = (
            time_of(request.rectification_deadline, "rectification_deadline")
            if request.HasField("rectification_deadline")
            else None
        )
        uow = self._uow_factory()
        inspection = inspections.complete_inspection(
            uow,
            request.name,
            outcome=request.outcome,
            findings=findings_from_proto(request.findings),
            penalty_reference=request.penalty_reference,
            rectification_deadline=deadline,
            principal=current_principal(),
            publication_working_days=self._publication_working_days,
            calendar=self._calendar,
            now=self._clock(),
        )
        if uow.committed_events:
            self._wake()
        return P.CompleteInspectionResponse(inspection=inspection_to_proto(inspection))

    def CompleteRectification(
        self, request: P.CompleteRectificationRequest, context: grpc.ServicerContext
    ) -> P.CompleteRectificationResponse:
        uow = self._uow_factory()
        inspection = inspections.complete_rectification(uow, request.name, current_principal())
        if uow.committed_events:
            self._wake()
        return P.CompleteRectificationResponse(inspection=inspection_to_proto(inspection))

    def ListPublishedResults(
        self, request: P.ListPublishedResultsRequest, context: grpc.ServicerContext
    ) -> P.ListPublishedResultsResponse:
        page = inspections.list_published(
            self._uow_factory(),
            request.region_code,
            request.page_size,
            request.page_token,
            today=china_date(self._clock()),
            filter_text=request.filter,
        )
        return P.ListPublishedResultsResponse(
            results=[published_to_proto(r) for r in page.items], next_page_token=page.next_page_token
        )

    def GetInspection(
        self, request: P.GetInspectionRequest, context: grpc.ServicerContext
    ) -> P.GetInspectionResponse:
        inspection = inspections.get_inspection(self._uow_factory(), request.name, current_principal())
        return P.GetInspectionResponse(inspection=inspection_to_proto(inspection))

    def ListInspections(
        self, request: P.ListInspectionsRequest, context: grpc.ServicerContext
    ) -> P.ListInspectionsResponse:
        page = inspections.list_inspections(
            self._uow_factory(), current_principal(), request.filter, request.page_size, request.page_token
        )
        return P.ListInspectionsResponse(
            inspections=[inspection_to_proto(i) for i in page.items], next_page_token=page.next_page_token
        )

    def ListPlanCommitments(
        self, request: P.ListPlanCommitmentsRequest, context: grpc.ServicerContext
    ) -> P.ListPlanCommitmentsResponse:
        page = plans.list_commitments(
            self._uow_factory(), request.region_code, request.page_size, request.page_token
        )
        return P.ListPlanCommitmentsResponse(
            plan_commitments=[commitment_to_proto(view) for view in page.items],
            next_page_token=page.next_page_token,
        )

    def GetPlanCommitment(
        self, request: P.GetPlanCommitmentRequest, context: grpc.ServicerContext
    ) -> P.GetPlanCommitmentResponse:
        view = plans.get_commitment(self._uow_factory(), request.name)
        return P.GetPlanCommitmentResponse(plan_commitment=commitment_to_proto(view, with_inputs=True))
