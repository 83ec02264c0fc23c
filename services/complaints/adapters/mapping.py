"""Translation between the domain model and protobuf: the API messages of integrity.complaints.v1 and the
event payloads of integrity.events.v1 that the use cases publish."""

from __future__ import annotations

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from integrity.complaints.v1 import complaints_pb2
from integrity.events.v1 import events_pb2
from services.complaints.domain.complaint import MATCHED, Complaint, complaint_name
from services.complaints.domain.deadlines import Deadlines
from services.complaints.domain.intake import ComplaintDraft, Contact
from shared.errors import FieldViolation, invalid_argument

# The CloudEvents source of every event the service publishes.
EVENT_SOURCE = "//integrity/complaints"


def _time_of(timestamp: Timestamp, field: str) -> datetime:
    try:
        return timestamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        raise invalid_argument([FieldViolation(field, "is not a representable timestamp")]) from None


def draft_from_proto(message: complaints_pb2.Complaint) -> ComplaintDraft:
    """The caller's fields; output-only ones (name, state, times, etag, ...) are ignored (AIP-203)."""
    occur_time = (
        _time_of(message.occur_time, "complaint.occur_time") if message.HasField("occur_time") else None
    )
    return ComplaintDraft(
        enterprise=message.enterprise,
        category=message.category,
        channel=message.channel,
        description=message.description,
        occur_time=occur_time,
        location=message.location,
        evidence_uris=tuple(message.evidence_uris),
    )


def contact_from_proto(request: complaints_pb2.CreateComplaintRequest) -> Contact | None:
    if not request.HasField("complainant"):
        return None
    return Contact(request.complainant.display_name, request.complainant.phone)


def contact_to_proto(contact: Contact | None) -> complaints_pb2.ComplainantContact | None:
    if contact is None:
        return None
    return complaints_pb2.ComplainantContact(display_name=contact.display_name, phone=contact.phone)


def to_proto(
    complaint: Complaint, deadlines: Deadlines, *, for_enterprise: bool = False
) -> complaints_pb2.Complaint:
    """The resource. For the enterprise complained about, everything that could identify the
    complainant (their words, evidence, channel, anonymity, reward, links to other complaints) is left out."""
    message = complaints_pb2.Complaint(
        name=complaint.name,
        enterprise=f"enterprises/{complaint.uscc}",
        category=complaint.category,  # type: ignore[arg-type]
        location=complaint.location,
        state=complaint.state,  # type: ignore[arg-type]
        substantiated=complaint.substantiated,
        etag=complaint.etag,
        region_code=complaint.region_code,
        match_status=complaint.match_status,  # type: ignore[arg-type]
        severity=complaint.severity,  # type: ignore[arg-type]
        resolution=complaint.resolution,
    )
    if complaint.occur_time is not None:
        message.occur_time.FromDatetime(complaint.occur_time)
    message.create_time.FromDatetime(complaint.create_time)
    message.update_time.FromDatetime(complaint.update_time)
    if (due := deadlines.due_time(complaint)) is not None:
        message.due_time.FromDatetime(due)
    if not for_enterprise:
        message.channel = complaint.channel  # type: ignore[assignment]
        message.description = complaint.description
        message.evidence_uris.extend(complaint.evidence_uris)
        message.anonymous = complaint.anonymous
        message.duplicate_of = _duplicate_name(complaint)
        message.rejection_reason = complaint.rejection_reason
        message.reward_eligible = complaint.reward_eligible
    return message


# --- event payloads (integrity.events.v1) ---------------------------------------------------------


def _duplicate_name(complaint: Complaint) -> str:
    return complaint_name(complaint.duplicate_of) if complaint.duplicate_of else ""


def filed_event(complaint: Complaint) -> events_pb2.ComplaintFiled:
    return events_pb2.ComplaintFiled(
        complaint=complaint.name,
        category=complaint.category,  # type: ignore[arg-type]
        channel=complaint.channel,  # type: ignore[arg-type]
        anonymous=complaint.anonymous,
        duplicate_of=_duplicate_name(complaint),
        region_code=complaint.region_code,
        matched=complaint.match_status == MATCHED,
    )


def matched_event(complaint: Complaint) -> events_pb2.ComplaintMatched:
    return events_pb2.ComplaintMatched(
        complaint=complaint.name,
        region_code=complaint.region_code,
        category=complaint.category,  # type: ignore[arg-type]
        duplicate_of=_duplicate_name(complaint),
    )


def accepted_event(complaint: Complaint) -> events_pb2.ComplaintAccepted:
    return events_pb2.ComplaintAccepted(
        complaint=complaint.name,
        category=complaint.category,  # type: ignore[arg-type]
        duplicate_of=_duplicate_name(complaint),
    )


def rejected_event(complaint: Complaint) -> events_pb2.ComplaintRejected:
    return events_pb2.ComplaintRejected(
        complaint=complaint.name,
        category=complaint.category,  # type: ignore[arg-type]
        duplicate_of=_duplicate_name(complaint),
    )


def resolved_event(complaint: Complaint) -> events_pb2.ComplaintResolved:
    return events_pb2.ComplaintResolved(
        complaint=complaint.name,
        category=complaint.category,  # type: ignore[arg-type]
        substantiated=complaint.substantiated,
        severity=complaint.severity,  # type: ignore[arg-type]
        duplicate_of=_duplicate_name(complaint),
    )
