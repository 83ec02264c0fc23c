"""gRPC adapter of the enterprise registry: requests in, use cases, responses out.

Errors are shared.errors.IntegrityError; the platform interceptor turns them into AIP-193 statuses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Concatenate, ParamSpec, TypeVar

import grpc

from integrity.enterprises.v1 import enterprises_pb2, enterprises_pb2_grpc
from services.enterprises.adapters.mapping import (
    capability_draft_from_proto,
    capability_to_proto,
    change_from_proto,
    commitment_draft_from_proto,
    commitment_to_proto,
    draft_from_proto,
    instrument_draft_from_proto,
    instrument_to_proto,
    public_enterprise_to_proto,
    to_proto,
    verification_draft_from_proto,
)
from services.enterprises.domain.declarations import Commitment
from services.enterprises.domain.values import china_today
from services.enterprises.use_cases import declarations, enterprises, instruments
from services.enterprises.use_cases.instruments import VerificationEntry
from services.enterprises.use_cases.unit_of_work import EnterprisesUoW
from shared.auth import current_principal
from shared.errors import FieldViolation, invalid_argument

P = ParamSpec("P")
T = TypeVar("T")


class EnterpriseServiceServicer(enterprises_pb2_grpc.EnterpriseServiceServicer):
    def __init__(
        self,
        uow_factory: Callable[[], EnterprisesUoW],
        wake: Callable[[], None] | None = None,
        today: Callable[[], date] = china_today,
    ):
        self._uow_factory = uow_factory
        # Today in China: what "future", "overdue" and "expired" are measured against (tests inject it).
        self._today = today
        # Called after a commit that wrote outbox events, so the relay publishes them without waiting.
        self._wake = wake or (lambda: None)

    def _run(
        self, use_case: Callable[Concatenate[EnterprisesUoW, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """The use case in a new unit of work; wakes the relay when it committed events."""
        uow = self._uow_factory()
        result = use_case(uow, *args, **kwargs)
        if uow.committed_events:
            self._wake()
        return result

    def CreateEnterprise(
        self, request: enterprises_pb2.CreateEnterpriseRequest, context: grpc.ServicerContext
    ) -> enterprises_pb2.CreateEnterpriseResponse:
        if not request.HasField("enterprise"):
            raise invalid_argument([FieldViolation("enterprise", "is required")])
        result = self._run(
            enterprises.create_enterprise,
            draft_from_proto(request.enterprise),
            request.request_id,
            current_principal(),
            today=self._today(),
        )
        return enterprises_pb2.CreateEnterpriseResponse(enterprise=to_proto(result.enterprise))

    def GetEnterprise(
        self, request: enterprises_pb2.GetEnterpriseRequest, context: grpc.ServicerContext
    ) -> enterprises_pb2.GetEnterpriseResponse:
        enterprise = self._run(enterprises.get_enterprise, request.name, current_principal())
        return enterprises_pb2.GetEnterpriseResponse(enterprise=to_proto(enterprise))

    def ListEnterprises(
        self, request: enterprises_pb2.ListEnterprisesRequest, context: grpc.ServicerContext
    ) -> enterprises_pb2.ListEnterprisesResponse:
        page = self._run(
            enterprises.list_enterprises,
            current_principal(),
            filter_text=request.filter,
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return enterprises_pb2.ListEnterprisesResponse(
            enterprises=[to_proto(e) for e in page.enterprises], next_page_token=page.next_page_token
        )

    def UpdateEnterprise(
        self, request: enterprises_pb2.UpdateEnterpriseRequest, context: grpc.ServicerContext
    ) -> enterprises_pb2.UpdateEnterpriseResponse:
        if not request.HasField("enterprise"):
            raise invalid_argument([FieldViolation("enterprise", "is required")])
        result = self._run(
            enterprises.update_enterprise,
            change_from_proto(request),
            current_principal(),
            today=self._today(),
        )
        return enterprises_pb2.UpdateEnterpriseResponse(enterprise=to_proto(result.enterprise))

    def CreateInstrument(
        self, request: enterprises_pb2.CreateInstrumentRequest, context: grpc.ServicerContext
    ) -> enterprises_pb2.CreateInstrumentResponse:
        created = self._run(
            instruments.create_instrument,
            request.parent,
            instrument_draft_from_proto(request.instrument),
            current_principal(),
            request.request_id,
            today=self._today(),
        )
        return enterprises_pb2.CreateInstrumentResponse(instrument=instrument_to_proto(created))

    def ListInstruments(
        self, request: enterprises_pb2.ListInstrumentsRequest, context: grpc.ServicerContext
    ) -> enterprises_pb2.ListInstrumentsResponse:
        page = self._run(
            instruments.list_instruments,
            request.parent,
            current_principal(),
            page_size=request.page_size,
            page_token=request.page_token,
            today=self._today(),
        )
        return enterprises_pb2.ListInstrumentsResponse(
            instruments=[instrument_to_proto(v) for v in page.instruments],
            next_page_token=page.next_page_token,
        )

    def _record(self, entries: list[VerificationEntry]) -> list[enterprises_pb2.Instrument]:
        views = self._run(instruments.record_verifications, entries, current_principal(), today=self._today())
        return [instrument_to_proto(v) for v in views]

    def RecordVerification(
        self, request: enterprises_pb2.RecordVerificationRequest, context: grpc.ServicerContext
    ) -> enterprises_pb2.RecordVerificationResponse:
        entry = VerificationEntry(request.instrument, verification_draft_from_proto(request.verification))
        [instrument] = self._record([entry])
        return enterprises_pb2.RecordVerificationResponse(instrument=instrument)

    def BatchRecordVerifications(
        self, request: enterprises_pb2.BatchRecordVerificationsRequest, context: grpc.ServicerContext
    ) -> enterprises_pb2.BatchRecordVerificationsResponse:
        entries = [
            VerificationEntry(
                r.instrument,
                verification_draft_from_proto(r.verification),
                f"requests[{i}].instrument",
                f"requests[{i}].verification",
            )
            for i, r in enumerate(request.requests)
        ]
        return enterprises_pb2.BatchRecordVerificationsResponse(instruments=self._record(entries))

    def CreateCommitment(
        self, request: enterprises_pb2.CreateCommitmentRequest, context: grpc.ServicerContext
    ) -> enterprises_pb2.CreateCommitmentResponse:
        commitment, state = self._run(
            declarations.create_commitment,
            request.parent,
            commitment_draft_from_proto(request.commitment),
            current_principal(),
            request.request_id,
            today=self._today(),
        )
        return enterprises_pb2.CreateCommitmentResponse(commitment=commitment_to_proto(commitment, state))

    def WithdrawCommitment(
        self, request: enterprises_pb2.WithdrawCommitmentRequest, context: grpc.ServicerContext
    ) -> enterprises_pb2.WithdrawCommitmentResponse:
        commitment, state = self._run(
            declarations.withdraw_commitment, request.name, current_principal(), today=self._today()
        )
        return enterprises_pb2.WithdrawCommitmentResponse(commitment=commitment_to_proto(commitment, state))

    def DeclareCapability(
        self, request: enterprises_pb2.DeclareCapabilityRequest, context: grpc.ServicerContext
    ) -> enterprises_pb2.DeclareCapabilityResponse:
        declaration = self._run(
            declarations.declare_capability,
            request.parent,
            capability_draft_from_proto(request.declaration),
            current_principal(),
            request.request_id,
        )
        return enterprises_pb2.DeclareCapabilityResponse(declaration=capability_to_proto(declaration))

    def ListCommitments(
        self, request: enterprises_pb2.ListCommitmentsRequest, context: grpc.ServicerContext
    ) -> enterprises_pb2.ListCommitmentsResponse:
        page = self._list_declarations("commitments", request)
        return enterprises_pb2.ListCommitmentsResponse(
            commitments=[commitment_to_proto(c, state) for c, state in page.declarations],  # type: ignore[arg-type]
            next_page_token=page.next_page_token,
        )

    def ListCapabilityDeclarations(
        self, request: enterprises_pb2.ListCapabilityDeclarationsRequest, context: grpc.ServicerContext
    ) -> enterprises_pb2.ListCapabilityDeclarationsResponse:
        page = self._list_declarations("capabilities", request)
        return enterprises_pb2.ListCapabilityDeclarationsResponse(
            declarations=[capability_to_proto(d) for d, _ in page.declarations],  # type: ignore[arg-type]
            next_page_token=page.next_page_token,
        )

    def _list_declarations(
        self,
        kind: str,
        request: enterprises_pb2.ListCommitmentsRequest | enterprises_pb2.ListCapabilityDeclarationsRequest,
    ) -> declarations.DeclarationPage:
        return self._run(
            declarations.list_declarations,
            kind,
            request.parent,
            current_principal(),
            page_size=request.page_size,
            page_token=request.page_token,
            today=self._today(),
        )

    def LookupPublicCode(
        self, request: enterprises_pb2.LookupPublicCodeRequest, context: grpc.ServicerContext
    ) -> enterprises_pb2.LookupPublicCodeResponse:
        found = self._run(declarations.lookup_public_code, request.public_code, today=self._today())
        response = enterprises_pb2.LookupPublicCodeResponse(
            enterprise=public_enterprise_to_proto(found.enterprise)
        )
        if isinstance(found.declaration, Commitment):
            response.commitment.CopyFrom(commitment_to_proto(found.declaration, found.state))
        else:
            response.capability_declaration.CopyFrom(capability_to_proto(found.declaration))
        return response
