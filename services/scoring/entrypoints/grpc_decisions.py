"""The ScoringService methods of the enterprises' credit repair applications and the serious-dishonesty
list, mixed into ScoringServicer (grpc.py); and the helpers both use: optional request times and the audit
log line of every decision and every read of non-public records."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from integrity.scoring.v1 import scoring_pb2
from services.scoring.adapters.mapping import (
    application_to_proto,
    credit_repair_to_proto,
    grade_to_proto,
    listing_to_proto,
)
from services.scoring.domain.names import application_of, list_parent_of, listing_of, uscc_of_parent
from services.scoring.domain.policy import Policy
from services.scoring.use_cases import dishonesty, repair
from services.scoring.use_cases.access import DecisionPage
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.auth import Principal, current_principal
from shared.errors import FieldViolation, invalid_argument
from shared.events import utcnow

S = scoring_pb2
T = TypeVar("T")
audit_log = logging.getLogger("integrity.audit")


class RepairAndListingMethods:
    """Credit repair applications (the enterprise applies, a regulator grants or refuses) and the
    serious-dishonesty list (the national credit system lists and removes)."""

    _uow_factory: Callable[[], ScoringUoW]
    policy: Policy

    def _wake_if_written(self, uow: ScoringUoW) -> None: ...

    # --- the enterprise's credit repair application ---------------------------------------------------

    def CreateCreditRepairApplication(
        self, request: S.CreateCreditRepairApplicationRequest, context: grpc.ServicerContext
    ) -> S.CreateCreditRepairApplicationResponse:
        uscc = uscc_of_parent(request.parent)
        principal = current_principal()
        given = request.credit_repair_application
        uow = self._uow_factory()
        application = repair.apply_for_repair(
            uow,
            self.policy,
            principal,
            uscc,
            given.rule_code,
            given.commitment_letter,
            given.rectification_statement,
            utcnow(),
            request.request_id,
        )
        self._wake_if_written(uow)
        audit(principal, "CreateCreditRepairApplication", application.name, rule_code=application.rule_code)
        return S.CreateCreditRepairApplicationResponse(
            credit_repair_application=application_to_proto(application)
        )

    def GetCreditRepairApplication(
        self, request: S.GetCreditRepairApplicationRequest, context: grpc.ServicerContext
    ) -> S.GetCreditRepairApplicationResponse:
        uscc, application_id = application_of(request.name)
        principal = current_principal()
        application = repair.get_application(self._uow_factory(), principal, uscc, application_id)
        audit(principal, "GetCreditRepairApplication", application.name)
        return S.GetCreditRepairApplicationResponse(
            credit_repair_application=application_to_proto(application)
        )

    def ListCreditRepairApplications(
        self, request: S.ListCreditRepairApplicationsRequest, context: grpc.ServicerContext
    ) -> S.ListCreditRepairApplicationsResponse:
        page = self._decision_page("ListCreditRepairApplications", request, repair.list_applications)
        return S.ListCreditRepairApplicationsResponse(
            credit_repair_applications=[application_to_proto(a) for a in page.items],
            next_page_token=page.next_page_token,
        )

    def GrantCreditRepairApplication(
        self, request: S.GrantCreditRepairApplicationRequest, context: grpc.ServicerContext
    ) -> S.GrantCreditRepairApplicationResponse:
        uscc, application_id = application_of(request.name)
        principal = current_principal()
        uow = self._uow_factory()
        application, granted = repair.grant_application(
            uow, self.policy, principal, uscc, application_id, request.reason, utcnow()
        )
        self._wake_if_written(uow)
        audit(principal, "GrantCreditRepairApplication", request.name, credit_repair=granted.repair.name)
        return S.GrantCreditRepairApplicationResponse(
            credit_repair_application=application_to_proto(application),
            credit_repair=credit_repair_to_proto(granted.repair, granted.grade),
        )

    def RefuseCreditRepairApplication(
        self, request: S.RefuseCreditRepairApplicationRequest, context: grpc.ServicerContext
    ) -> S.RefuseCreditRepairApplicationResponse:
        uscc, application_id = application_of(request.name)
        principal = current_principal()
        uow = self._uow_factory()
        application = repair.refuse_application(
            uow, principal, uscc, application_id, request.reason, utcnow()
        )
        self._wake_if_written(uow)
        audit(principal, "RefuseCreditRepairApplication", request.name)
        return S.RefuseCreditRepairApplicationResponse(
            credit_repair_application=application_to_proto(application)
        )

    # --- the serious-dishonesty list ------------------------------------------------------------------

    def CreateDishonestyListing(
        self, request: S.CreateDishonestyListingRequest, context: grpc.ServicerContext
    ) -> S.CreateDishonestyListingResponse:
        uscc = uscc_of_parent(request.parent)
        principal = current_principal()
        given = request.dishonesty_listing
        uow = self._uow_factory()
        decision = dishonesty.list_enterprise(
            uow,
            self.policy,
            principal,
            uscc,
            given.reason,
            given.decision_reference,
            given.authority,
            optional_time(given, "list_time", "dishonesty_listing.list_time"),
            utcnow(),
            request.request_id,
        )
        self._wake_if_written(uow)
        audit(principal, "CreateDishonestyListing", decision.listing.name)
        return S.CreateDishonestyListingResponse(
            dishonesty_listing=listing_to_proto(decision.listing), grade=grade_to_proto(uscc, decision.grade)
        )

    def RemoveDishonestyListing(
        self, request: S.RemoveDishonestyListingRequest, context: grpc.ServicerContext
    ) -> S.RemoveDishonestyListingResponse:
        uscc, listing_id = listing_of(request.name)
        principal = current_principal()
        uow = self._uow_factory()
        decision = dishonesty.remove_listing(
            uow,
            self.policy,
            principal,
            uscc,
            listing_id,
            request.reason,
            optional_time(request, "remove_time"),
            utcnow(),
        )
        self._wake_if_written(uow)
        audit(principal, "RemoveDishonestyListing", request.name)
        return S.RemoveDishonestyListingResponse(
            dishonesty_listing=listing_to_proto(decision.listing), grade=grade_to_proto(uscc, decision.grade)
        )

    def ListDishonestyListings(
        self, request: S.ListDishonestyListingsRequest, context: grpc.ServicerContext
    ) -> S.ListDishonestyListingsResponse:
        page = self._decision_page("ListDishonestyListings", request, dishonesty.list_listings)
        return S.ListDishonestyListingsResponse(
            dishonesty_listings=[listing_to_proto(item) for item in page.items],
            next_page_token=page.next_page_token,
        )

    def _decision_page(
        self, method: str, request: Any, lister: Callable[..., DecisionPage[T]]
    ) -> DecisionPage[T]:
        """A page of a decision list (a request with parent, filter and page fields), audit-logged."""
        principal = current_principal()
        page = lister(
            self._uow_factory(),
            principal,
            list_parent_of(request.parent),
            request.filter,
            request.page_size,
            request.page_token,
        )
        audit(principal, method, request.parent, filter=request.filter, count=len(page.items))
        return page


def optional_time(message: Message, field: str, path: str = "") -> datetime | None:
    """A request's optional timestamp field; None when unset; INVALID_ARGUMENT when out of range."""
    if not message.HasField(field):
        return None
    try:
        return getattr(message, field).ToDatetime(tzinfo=UTC)  # type: ignore[no-any-return]
    except (ValueError, OverflowError, OSError):
        raise invalid_argument([FieldViolation(path or field, "is not a representable timestamp")]) from None


def audit(principal: Principal, action: str, target: str, **details: object) -> None:
    if not audit_log.isEnabledFor(logging.INFO):
        return
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
