"""The ScoringService API: read a grade, list enterprises by risk. Requests in, domain errors out.

The server interceptor has already authenticated the caller and checked the method policy; the
checks here are per enterprise (an enterprise sees only itself) and per region (a regulator sees
only their region and its children).
"""

from __future__ import annotations

import logging
import re
from datetime import UTC

import grpc
from sqlalchemy import Engine

from integrity.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from services.scoring import appeals
from services.scoring.adapters.policy_file import load_policy
from services.scoring.convert import (
    appeal_to_proto,
    credit_repair_to_proto,
    grade_name,
    grade_to_proto,
    level_of_proto,
    risk_entry_to_proto,
)
from services.scoring.domain.policy import Policy
from services.scoring.repair import grant_credit_repair
from services.scoring.repository import ScoringRepository
from services.scoring.risk_query import (
    RiskFilter,
    decode_page_token,
    encode_page_token,
    page_size_of,
    parse_filter,
)
from shared.auth import REGIONAL_ROLES, Principal, Role, current_principal, require_enterprise_read
from shared.db import UnitOfWork
from shared.errors import ErrorKind, FieldViolation, IntegrityError, invalid_argument, permission_denied
from shared.events import utcnow
from shared.regions import is_valid_region, region_contains
from shared.uscc import uscc_problem

_GRADE_NAME = re.compile(r"^enterprises/(?P<uscc>[^/]+)/grade$")
_ENTERPRISE_NAME = re.compile(r"^enterprises/(?P<uscc>[^/]+)$")
_APPEAL_NAME = re.compile(r"^enterprises/(?P<uscc>[^/]+)/appeals/(?P<id>[^/]+)$")
audit_log = logging.getLogger("integrity.audit")


class ScoringServicer(scoring_pb2_grpc.ScoringServiceServicer):
    def __init__(self, engine: Engine, policy: Policy | None = None) -> None:
        self.engine = engine
        self.policy = policy or load_policy()

    def GetGrade(
        self, request: scoring_pb2.GetGradeRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.GetGradeResponse:
        uscc = uscc_of_grade_name(request.name)
        principal = current_principal()
        if principal.role == Role.ENTERPRISE:
            # Decided before any lookup, so another enterprise cannot learn whether `uscc` exists.
            require_enterprise_read(principal, uscc, None)
        with UnitOfWork(self.engine) as uow:
            repository = ScoringRepository(uow.session)
            enterprise = repository.get_enterprise(uscc)
            grade = repository.get_grade(uscc)
            # Without a projection, the USCC's own division (registration authority, characters 3-8)
            # is the best guess of its region: a regulator cannot probe enterprises outside it.
            region = enterprise.region_code if enterprise else _registration_region(uscc)
        require_enterprise_read(principal, uscc, region)
        if grade is None:
            raise IntegrityError(
                f"{grade_name(uscc)} does not exist yet: scoring has no registration of enterprise {uscc}. "
                "If it was registered moments ago, the registration may still be in flight to scoring; "
                "retry shortly.",
                "GRADE_NOT_FOUND",
                ErrorKind.NOT_FOUND,
                {"resource": grade_name(uscc)},
            )
        _audit(principal, "GetGrade", grade_name(uscc))
        return scoring_pb2.GetGradeResponse(grade=grade_to_proto(uscc, grade))

    def ListRiskEntries(
        self, request: scoring_pb2.ListRiskEntriesRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.ListRiskEntriesResponse:
        page_size = page_size_of(request.page_size)
        principal = current_principal()
        risk_filter = scope_to_principal(parse_filter(request.filter), principal)
        after = decode_page_token(request.page_token, risk_filter) if request.page_token else None
        with UnitOfWork(self.engine) as uow:
            # One extra row tells whether another page follows.
            entries = ScoringRepository(uow.session).list_risk_entries(risk_filter, page_size + 1, after)
        next_page_token = ""
        if len(entries) > page_size:
            entries = entries[:page_size]
            next_page_token = encode_page_token(entries[-1].cursor, risk_filter)
        _audit(principal, "ListRiskEntries", risk_filter.canonical() or "(all)", count=len(entries))
        return scoring_pb2.ListRiskEntriesResponse(
            risk_entries=[risk_entry_to_proto(entry) for entry in entries], next_page_token=next_page_token
        )

    def CreateCreditRepair(
        self, request: scoring_pb2.CreateCreditRepairRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.CreateCreditRepairResponse:
        uscc = _uscc_of(_ENTERPRISE_NAME, request.parent, "parent", "enterprises/{uscc}")
        principal = current_principal()
        with UnitOfWork(self.engine) as uow:
            enterprise = ScoringRepository(uow.session).get_enterprise(uscc)
            # Only a regulator (method policy) whose region contains the enterprise's.
            require_enterprise_read(
                principal, uscc, enterprise.region_code if enterprise else _registration_region(uscc)
            )
            granted = grant_credit_repair(
                uow.session,
                self.policy,
                uscc,
                rule_code=request.credit_repair.rule_code,
                reason=request.credit_repair.reason,
                decided_by=principal.subject,
                now=utcnow(),
                request_id=request.request_id,
            )
            message = credit_repair_to_proto(uscc, granted.row, granted.grade)
            uow.commit()
        _audit(principal, "CreateCreditRepair", message.name, rule_code=message.rule_code)
        return scoring_pb2.CreateCreditRepairResponse(credit_repair=message)

    def CreateAppeal(
        self, request: scoring_pb2.CreateAppealRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.CreateAppealResponse:
        uscc = _uscc_of(_ENTERPRISE_NAME, request.parent, "parent", "enterprises/{uscc}")
        principal = current_principal()
        require_enterprise_read(principal, uscc, None)  # the method policy admits enterprises only: itself
        with UnitOfWork(self.engine) as uow:
            row = appeals.file_appeal(
                uow.session, uscc, request.appeal.reason, principal.subject, utcnow(), request.request_id
            )
            message = appeal_to_proto(row)
            uow.commit()
        _audit(principal, "CreateAppeal", message.name)
        return scoring_pb2.CreateAppealResponse(appeal=message)

    def GetAppeal(
        self, request: scoring_pb2.GetAppealRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.GetAppealResponse:
        uscc, appeal_id = _appeal_of(request.name)
        principal = current_principal()
        with UnitOfWork(self.engine) as uow:
            self._require_access(uow, principal, uscc)
            message = appeal_to_proto(appeals.get_appeal(uow.session, uscc, appeal_id))
        _audit(principal, "GetAppeal", message.name)
        return scoring_pb2.GetAppealResponse(appeal=message)

    def AcceptAppeal(
        self, request: scoring_pb2.AcceptAppealRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.AcceptAppealResponse:
        uscc, appeal_id = _appeal_of(request.name)
        principal = current_principal()
        expire_at = (
            request.override_expire_time.ToDatetime(tzinfo=UTC)
            if request.HasField("override_expire_time")
            else None
        )
        with UnitOfWork(self.engine) as uow:
            self._require_access(uow, principal, uscc)
            row = appeals.get_appeal(uow.session, uscc, appeal_id)
            grade = appeals.accept_appeal(
                uow.session,
                self.policy,
                row,
                level_of_proto(request.override_level),
                expire_at,
                request.reason,
                principal.subject,
                utcnow(),
            )
            response = scoring_pb2.AcceptAppealResponse(
                appeal=appeal_to_proto(row), grade=grade_to_proto(uscc, grade)
            )
            uow.commit()
        _audit(principal, "AcceptAppeal", request.name, override_level=row.override_level)
        return response

    def RejectAppeal(
        self, request: scoring_pb2.RejectAppealRequest, context: grpc.ServicerContext
    ) -> scoring_pb2.RejectAppealResponse:
        uscc, appeal_id = _appeal_of(request.name)
        principal = current_principal()
        with UnitOfWork(self.engine) as uow:
            self._require_access(uow, principal, uscc)
            row = appeals.get_appeal(uow.session, uscc, appeal_id)
            appeals.reject_appeal(uow.session, row, request.reason, principal.subject, utcnow())
            message = appeal_to_proto(row)
            uow.commit()
        _audit(principal, "RejectAppeal", request.name)
        return scoring_pb2.RejectAppealResponse(appeal=message)

    @staticmethod
    def _require_access(uow: UnitOfWork, principal: Principal, uscc: str) -> None:
        """The caller may act on this enterprise: itself, system, or a regional role of its region."""
        enterprise = ScoringRepository(uow.session).get_enterprise(uscc)
        require_enterprise_read(
            principal, uscc, enterprise.region_code if enterprise else _registration_region(uscc)
        )


def _appeal_of(name: str) -> tuple[str, str]:
    """The USCC and appeal id in `enterprises/{uscc}/appeals/{id}`; INVALID_ARGUMENT on `name` otherwise."""
    uscc = _uscc_of(_APPEAL_NAME, name, "name", "enterprises/{uscc}/appeals/{id}")
    match = _APPEAL_NAME.match(name)
    assert match is not None  # _uscc_of has matched it
    return uscc, match["id"]


def uscc_of_grade_name(name: str) -> str:
    """The USCC in `enterprises/{uscc}/grade`; INVALID_ARGUMENT on `name` otherwise."""
    return _uscc_of(_GRADE_NAME, name, "name", "enterprises/{uscc}/grade")


def _uscc_of(pattern: re.Pattern[str], name: str, field: str, shape: str) -> str:
    match = pattern.match(name)
    if match is None:
        raise invalid_argument([FieldViolation(field, f"must look like {shape}, got {name!r}")])
    uscc = match["uscc"]
    problem = uscc_problem(uscc)
    if problem:
        raise invalid_argument([FieldViolation(field, f"USCC {uscc!r} {problem}")])
    return uscc


def scope_to_principal(risk_filter: RiskFilter, principal: Principal) -> RiskFilter:
    """A regional caller's filter, narrowed to their region: none given -> theirs; outside -> denied."""
    if principal.role == Role.SYSTEM:
        return risk_filter
    if principal.role not in REGIONAL_ROLES or not principal.region:
        raise permission_denied(f"{principal.role} {principal.subject!r} may not read risk lists")
    if risk_filter.region_code is None:
        return risk_filter.with_region(principal.region)
    if not region_contains(principal.region, risk_filter.region_code):
        raise permission_denied(
            f"{principal.role} for region {principal.region} cannot list risks in region "
            f"{risk_filter.region_code}; filter on {principal.region} or a division inside it",
            "OUTSIDE_REGION",
        )
    return risk_filter


def _registration_region(uscc: str) -> str | None:
    division = uscc[2:8]
    return division if is_valid_region(division) else None


def _audit(principal: Principal, action: str, target: str, **details: object) -> None:
    """Reads of non-public grades are audit-logged with the caller (DESIGN.md, Security)."""
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
