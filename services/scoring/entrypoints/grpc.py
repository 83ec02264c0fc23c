"""The ScoringService API: read a grade, list enterprises by risk, file, list, decide and review appeals,
apply for and grant credit repairs, keep the serious-dishonesty list. Request -> use case -> response;
errors are shared.errors.IntegrityError, which the server turns into AIP-193 statuses.

The server interceptor has already authenticated the caller and checked the method's roles; the use
cases check the rest (an enterprise sees only itself, a regulator only their region and its children).
Reads of non-public grades, and decisions, are audit-logged with the caller (DESIGN.md, Security).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import grpc

from integrity.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from services.scoring.adapters.mapping import (
    appeal_to_proto,
    credit_repair_to_proto,
    grade_to_proto,
    level_of_proto,
    level_to_proto,
    review_action_of_proto,
    risk_entry_to_proto,
    summary_to_proto,
)
from services.scoring.adapters.read_models import SqlGradeReads
from services.scoring.domain.names import (
    appeal_of,
    enterprise_name,
    grade_name,
    uscc_of_grade_name,
    uscc_of_parent,
)
from services.scoring.domain.policy import Policy
from services.scoring.entrypoints.grpc_decisions import RepairAndListingMethods, audit, optional_time
from services.scoring.use_cases import appeals, grades, summary
from services.scoring.use_cases.repair import grant_credit_repair
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.auth import current_principal
from shared.events import utcnow

S = scoring_pb2


class ScoringServicer(RepairAndListingMethods, scoring_pb2_grpc.ScoringServiceServicer):
    def __init__(
        self,
        uow_factory: Callable[[], ScoringUoW],
        policy: Policy,
        wake: Callable[[], None] | None = None,
        snapshots: summary.SummarySnapshots | None = None,
        reads: grades.GradeReads | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        # GetGrade and ListRiskEntries read outside any unit of work (default: the unit of work's database).
        self._reads = reads or SqlGradeReads(uow_factory().engine)  # type: ignore[attr-defined]
        self.policy = policy
        # Called after a commit that wrote outbox events, so the relay publishes them without waiting.
        self._wake = wake or (lambda: None)
        # Counts of every grade, refreshed by a worker (entrypoints/summaries.py), for the dashboards.
        self.snapshots = snapshots or summary.SummarySnapshots()

    def _wake_if_written(self, uow: ScoringUoW) -> None:
        if uow.committed_events:
            self._wake()

    def GetGrade(
        self, request: scoring_pb2.GetGradeRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.GetGradeResponse:
        uscc = uscc_of_grade_name(request.name)
        principal = current_principal()
        grade = grades.get_grade(self._reads, principal, uscc)
        audit(principal, "GetGrade", grade_name(uscc))
        return scoring_pb2.GetGradeResponse(grade=grade_to_proto(uscc, grade))

    def ListRiskEntries(
        self, request: scoring_pb2.ListRiskEntriesRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.ListRiskEntriesResponse:
        principal = current_principal()
        page = grades.list_risk_entries(
            self._reads, principal, request.filter, request.page_size, request.page_token
        )
        audit(principal, "ListRiskEntries", page.risk_filter.canonical() or "(all)", count=len(page.entries))
        return scoring_pb2.ListRiskEntriesResponse(
            risk_entries=[risk_entry_to_proto(entry) for entry in page.entries],
            next_page_token=page.next_page_token,
        )

    def CreateCreditRepair(
        self, request: scoring_pb2.CreateCreditRepairRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.CreateCreditRepairResponse:
        uscc = uscc_of_parent(request.parent)
        principal = current_principal()
        uow = self._uow_factory()
        granted = grant_credit_repair(
            uow,
            self.policy,
            principal,
            uscc,
            rule_code=request.credit_repair.rule_code,
            reason=request.credit_repair.reason,
            now=utcnow(),
            request_id=request.request_id,
        )
        self._wake_if_written(uow)
        message = credit_repair_to_proto(granted.repair, granted.grade)
        audit(principal, "CreateCreditRepair", message.name, rule_code=message.rule_code)
        return scoring_pb2.CreateCreditRepairResponse(credit_repair=message)

    def CreateAppeal(
        self, request: scoring_pb2.CreateAppealRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.CreateAppealResponse:
        uscc = uscc_of_parent(request.parent)
        principal = current_principal()
        appeal = appeals.file_appeal(
            self._uow_factory(), principal, uscc, request.appeal.reason, utcnow(), request.request_id
        )
        audit(principal, "CreateAppeal", appeal.name)
        return scoring_pb2.CreateAppealResponse(appeal=appeal_to_proto(appeal))

    def GetAppeal(
        self, request: scoring_pb2.GetAppealRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.GetAppealResponse:
        uscc, appeal_id = appeal_of(request.name)
        principal = current_principal()
        appeal = appeals.get_appeal(self._uow_factory(), principal, uscc, appeal_id)
        audit(principal, "GetAppeal", appeal.name)
        return scoring_pb2.GetAppealResponse(appeal=appeal_to_proto(appeal))

    def AcceptAppeal(
        self, request: scoring_pb2.AcceptAppealRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.AcceptAppealResponse:
        uscc, appeal_id = appeal_of(request.name)
        principal = current_principal()
        expire_at = optional_time(request, "override_expire_time")
        uow = self._uow_factory()
        appeal, grade = appeals.accept_appeal(
            uow,
            self.policy,
            principal,
            uscc,
            appeal_id,
            level_of_proto(request.override_level),
            expire_at,
            request.reason,
            utcnow(),
        )
        self._wake_if_written(uow)
        level = None if appeal.override_level is None else int(appeal.override_level)
        audit(principal, "AcceptAppeal", request.name, override_level=level)
        return scoring_pb2.AcceptAppealResponse(
            appeal=appeal_to_proto(appeal), grade=grade_to_proto(uscc, grade)
        )

    def RejectAppeal(
        self, request: scoring_pb2.RejectAppealRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.RejectAppealResponse:
        uscc, appeal_id = appeal_of(request.name)
        principal = current_principal()
        appeal = appeals.reject_appeal(
            self._uow_factory(), principal, uscc, appeal_id, request.reason, utcnow()
        )
        audit(principal, "RejectAppeal", request.name)
        return scoring_pb2.RejectAppealResponse(appeal=appeal_to_proto(appeal))

    def ListAppeals(
        self, request: S.ListAppealsRequest, context: grpc.ServicerContext
    ) -> S.ListAppealsResponse:
        page = self._decision_page("ListAppeals", request, partial(appeals.list_appeals, now=utcnow()))
        return S.ListAppealsResponse(
            appeals=[appeal_to_proto(a) for a in page.items], next_page_token=page.next_page_token
        )

    def SummarizeGrades(
        self, request: scoring_pb2.SummarizeGradesRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.SummarizeGradesResponse:
        principal = current_principal()
        result = summary.summarize(
            self._uow_factory(),
            principal,
            request.filter,
            request.months,
            request.change_days,
            utcnow(),
            self.snapshots.current,
        )
        audit(principal, "SummarizeGrades", result.region_code or "(all)")
        return summary_to_proto(result)

    def ListGradeHistory(
        self, request: scoring_pb2.ListGradeHistoryRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.ListGradeHistoryResponse:
        uscc = uscc_of_parent(request.parent)
        principal = current_principal()
        page = summary.grade_history(
            self._uow_factory(), principal, uscc, request.page_size, request.page_token
        )
        audit(principal, "ListGradeHistory", enterprise_name(uscc), count=len(page.entries))
        response = scoring_pb2.ListGradeHistoryResponse(next_page_token=page.next_page_token)
        for grade, previous, recorded_at in page.entries:
            entry = response.entries.add(
                grade=grade_to_proto(uscc, grade), previous_level=level_to_proto(previous)
            )
            entry.record_time.FromDatetime(recorded_at)
        return response

    def ReviewAppealOverride(
        self, request: S.ReviewAppealOverrideRequest, context: grpc.ServicerContext
    ) -> S.ReviewAppealOverrideResponse:
        uscc, appeal_id = appeal_of(request.name)
        principal = current_principal()
        expire_at = optional_time(request, "override_expire_time")
        action = review_action_of_proto(request.action)
        uow = self._uow_factory()
        appeal, grade = appeals.review_override(
            uow, self.policy, principal, uscc, appeal_id, action, expire_at, request.reason, utcnow()
        )
        self._wake_if_written(uow)
        audit(principal, "ReviewAppealOverride", request.name, review_action=action)
        return S.ReviewAppealOverrideResponse(
            appeal=appeal_to_proto(appeal), grade=grade_to_proto(uscc, grade)
        )
