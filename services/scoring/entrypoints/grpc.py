"""The ScoringService API: read a grade, list enterprises by risk, grant credit repairs, file and decide
appeals. Request -> use case -> response; errors are shared.errors.IntegrityError, which the server
turns into AIP-193 statuses.

The server interceptor has already authenticated the caller and checked the method's roles; the use
cases check the rest (an enterprise sees only itself, a regulator only their region and its children).
Reads of non-public grades, and decisions, are audit-logged with the caller (DESIGN.md, Security).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC

import grpc

from integrity.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from services.scoring.adapters.mapping import (
    appeal_to_proto,
    credit_repair_to_proto,
    grade_to_proto,
    level_of_proto,
    level_to_proto,
    risk_entry_to_proto,
    summary_to_proto,
)
from services.scoring.domain.names import (
    appeal_of,
    enterprise_name,
    grade_name,
    uscc_of_grade_name,
    uscc_of_parent,
)
from services.scoring.domain.policy import Policy
from services.scoring.use_cases import appeals, grades, summary
from services.scoring.use_cases.repair import grant_credit_repair
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.auth import Principal, current_principal
from shared.events import utcnow

audit_log = logging.getLogger("integrity.audit")


class ScoringServicer(scoring_pb2_grpc.ScoringServiceServicer):
    def __init__(
        self,
        uow_factory: Callable[[], ScoringUoW],
        policy: Policy,
        wake: Callable[[], None] | None = None,
        snapshots: summary.SummarySnapshots | None = None,
    ) -> None:
        self._uow_factory = uow_factory
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
        grade = grades.get_grade(self._uow_factory(), principal, uscc)
        _audit(principal, "GetGrade", grade_name(uscc))
        return scoring_pb2.GetGradeResponse(grade=grade_to_proto(uscc, grade))

    def ListRiskEntries(
        self, request: scoring_pb2.ListRiskEntriesRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.ListRiskEntriesResponse:
        principal = current_principal()
        page = grades.list_risk_entries(
            self._uow_factory(), principal, request.filter, request.page_size, request.page_token
        )
        _audit(principal, "ListRiskEntries", page.risk_filter.canonical() or "(all)", count=len(page.entries))
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
        _audit(principal, "CreateCreditRepair", message.name, rule_code=message.rule_code)
        return scoring_pb2.CreateCreditRepairResponse(credit_repair=message)

    def CreateAppeal(
        self, request: scoring_pb2.CreateAppealRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.CreateAppealResponse:
        uscc = uscc_of_parent(request.parent)
        principal = current_principal()
        appeal = appeals.file_appeal(
            self._uow_factory(), principal, uscc, request.appeal.reason, utcnow(), request.request_id
        )
        _audit(principal, "CreateAppeal", appeal.name)
        return scoring_pb2.CreateAppealResponse(appeal=appeal_to_proto(appeal))

    def GetAppeal(
        self, request: scoring_pb2.GetAppealRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.GetAppealResponse:
        uscc, appeal_id = appeal_of(request.name)
        principal = current_principal()
        appeal = appeals.get_appeal(self._uow_factory(), principal, uscc, appeal_id)
        _audit(principal, "GetAppeal", appeal.name)
        return scoring_pb2.GetAppealResponse(appeal=appeal_to_proto(appeal))

    def AcceptAppeal(
        self, request: scoring_pb2.AcceptAppealRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.AcceptAppealResponse:
        uscc, appeal_id = appeal_of(request.name)
        principal = current_principal()
        expire_at = (
            request.override_expire_time.ToDatetime(tzinfo=UTC)
            if request.HasField("override_expire_time")
            else None
        )
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
        _audit(principal, "AcceptAppeal", request.name, override_level=level)
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
        _audit(principal, "RejectAppeal", request.name)
        return scoring_pb2.RejectAppealResponse(appeal=appeal_to_proto(appeal))

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
        _audit(principal, "SummarizeGrades", result.region_code or "(all)")
        return summary_to_proto(result)

    def ListGradeHistory(
        self, request: scoring_pb2.ListGradeHistoryRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.ListGradeHistoryResponse:
        uscc = uscc_of_parent(request.parent)
        principal = current_principal()
        page = summary.grade_history(
            self._uow_factory(), principal, uscc, request.page_size, request.page_token
        )
        _audit(principal, "ListGradeHistory", enterprise_name(uscc), count=len(page.entries))
        response = scoring_pb2.ListGradeHistoryResponse(next_page_token=page.next_page_token)
        for grade, previous, recorded_at in page.entries:
            entry = response.entries.add(
                grade=grade_to_proto(uscc, grade), previous_level=level_to_proto(previous)
            )
            entry.record_time.FromDatetime(recorded_at)
        return response


def _audit(principal: Principal, action: str, target: str, **details: object) -> None:
    audit_log.info(
        "%s %s by %s",
        action,
        target,
        principal.subject,
        extra={
            "audit": {
                "action": action,
                "target": target,
                "subject": principal.subject,
                "role": str(principal.role),
                **details,
            }
        },
    )
