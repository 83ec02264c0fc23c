"""Translation between the wire messages of integrity.enterprises.v1 and the domain model."""

from __future__ import annotations

from integrity.enterprises.v1 import enterprises_pb2
from services.enterprises.domain.catalogue import kind_of
from services.enterprises.domain.declarations import (
    CapabilityDeclaration,
    CapabilityDraft,
    Commitment,
    CommitmentDraft,
)
from services.enterprises.domain.enterprise import Enterprise, EnterpriseChange, EnterpriseDraft
from services.enterprises.domain.instruments import (
    InstrumentDraft,
    InstrumentView,
    Verification,
    VerificationDraft,
)
from shared.regions import region_name


def draft_from_proto(message: enterprises_pb2.Enterprise) -> EnterpriseDraft:
    """The caller's fields; output-only ones (name, status, times, etag) are ignored (AIP-203)."""
    return EnterpriseDraft(
        uscc=message.uscc,
        display_name=message.display_name,
        region_code=message.region_code,
        industry_code=message.industry_code,
        subject_type=message.subject_type,
        size_class=message.size_class,
        registered_date=message.registered_date,
    )


def to_proto(enterprise: Enterprise) -> enterprises_pb2.Enterprise:
    message = enterprises_pb2.Enterprise(
        name=enterprise.name,
        uscc=enterprise.uscc,
        display_name=enterprise.display_name,
        region_code=enterprise.region_code,
        industry_code=enterprise.industry_code,
        subject_type=enterprise.subject_type,  # type: ignore[arg-type]
        size_class=enterprise.size_class,  # type: ignore[arg-type]
        registered_date=enterprise.registered_date.isoformat() if enterprise.registered_date else "",
        status=enterprise.status,  # type: ignore[arg-type]
        etag=enterprise.etag,
        region_name=region_name(enterprise.region_code),
    )
    message.create_time.FromDatetime(enterprise.create_time)
    message.update_time.FromDatetime(enterprise.update_time)
    return message


def change_from_proto(request: enterprises_pb2.UpdateEnterpriseRequest) -> EnterpriseChange:
    return EnterpriseChange(
        name=request.enterprise.name,
        draft=draft_from_proto(request.enterprise),
        status=request.enterprise.status,
        etag=request.enterprise.etag,
        mask=tuple(request.update_mask.paths),
    )


def instrument_draft_from_proto(message: enterprises_pb2.Instrument) -> InstrumentDraft:
    return InstrumentDraft(message.type, message.serial_number, message.location, message.usage)


def verification_draft_from_proto(message: enterprises_pb2.Verification) -> VerificationDraft:
    return VerificationDraft(
        message.verification_date, message.result, message.certificate_number, message.next_due_date
    )


def verification_to_proto(verification: Verification) -> enterprises_pb2.Verification:
    return enterprises_pb2.Verification(
        verification_date=verification.verification_date.isoformat(),
        result=verification.result,  # type: ignore[arg-type]
        certificate_number=verification.certificate_number,
        next_due_date=verification.next_due_date.isoformat(),
    )


def instrument_to_proto(view: InstrumentView) -> enterprises_pb2.Instrument:
    instrument = view.instrument
    kind = kind_of(instrument.type)
    message = enterprises_pb2.Instrument(
        name=instrument.name,
        type=instrument.type,  # type: ignore[arg-type]
        serial_number=instrument.serial_number,
        location=instrument.location,
        usage=instrument.usage,  # type: ignore[arg-type]
        verification_status=view.status,  # type: ignore[arg-type]
        verification_cycle_months=kind.cycle_months if kind else 0,
    )
    if view.last_verification is not None:
        message.last_verification.CopyFrom(verification_to_proto(view.last_verification))
    message.create_time.FromDatetime(instrument.create_time)
    return message


def commitment_draft_from_proto(message: enterprises_pb2.Commitment) -> CommitmentDraft:
    return CommitmentDraft(tuple(message.items), message.free_text, message.valid_from, message.valid_until)


def commitment_to_proto(commitment: Commitment, state: int) -> enterprises_pb2.Commitment:
    message = enterprises_pb2.Commitment(
        name=commitment.name,
        items=list(commitment.items),  # type: ignore[arg-type]
        free_text=commitment.free_text,
        valid_from=commitment.valid_from.isoformat(),
        valid_until=commitment.valid_until.isoformat(),
        state=state,  # type: ignore[arg-type]
        public_code=commitment.public_code,
    )
    message.create_time.FromDatetime(commitment.create_time)
    if commitment.withdraw_time is not None:
        message.withdraw_time.FromDatetime(commitment.withdraw_time)
    return message


def capability_draft_from_proto(message: enterprises_pb2.CapabilityDeclaration) -> CapabilityDraft:
    return CapabilityDraft(
        message.has_management_system,
        message.iso10012_certificate_number,
        message.instrument_count,
        message.metrology_staff_count,
        message.in_house_calibration,
    )


def capability_to_proto(declaration: CapabilityDeclaration) -> enterprises_pb2.CapabilityDeclaration:
    message = enterprises_pb2.CapabilityDeclaration(
        name=declaration.name,
        has_management_system=declaration.has_management_system,
        iso10012_certificate_number=declaration.iso10012_certificate_number,
        instrument_count=declaration.instrument_count,
        metrology_staff_count=declaration.metrology_staff_count,
        in_house_calibration=declaration.in_house_calibration,
        public_code=declaration.public_code,
    )
    message.declare_time.FromDatetime(declaration.declare_time)
    return message


def public_enterprise_to_proto(enterprise: Enterprise) -> enterprises_pb2.PublicEnterprise:
    """Only what the public may see: no status history, etag, size or request id."""
    return enterprises_pb2.PublicEnterprise(
        uscc=enterprise.uscc,
        display_name=enterprise.display_name,
        region_code=enterprise.region_code,
        industry_code=enterprise.industry_code,
        subject_type=enterprise.subject_type,  # type: ignore[arg-type]
    )
