"""Filing a complaint (CreateComplaint): intake, matching against the service's copy of the registry, AIP-155
repeats, duplicate detection, ComplaintFiled."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.complaints.adapters import mapping
from services.complaints.domain.complaint import Complaint, file_complaint
from services.complaints.domain.deadlines import Rules
from services.complaints.domain.intake import (
    ComplaintDraft,
    Contact,
    Intake,
    complainant_key,
    validate_intake,
)
from services.complaints.manifest import TOPIC
from services.complaints.use_cases.audit import audit
from services.complaints.use_cases.unit_of_work import ComplaintsUoW
from shared.auth import Principal, Role
from shared.errors import ErrorKind, IntegrityError, StorageConflict, permission_denied
from shared.events import new_event, utcnow
from shared.idempotency import normalize_request_id, repeat_of

# Filings by one complainant against one enterprise and category are serialized in this process, so
# a burst of repeats links to a single original (the look-up and the insert are not atomic otherwise).
# Replicas sharing a database can still, rarely, record two originals; scoring then counts both.
_INTAKE_LOCKS = tuple(threading.Lock() for _ in range(64))


def _intake_lock(key: str, uscc: str, category: int) -> threading.Lock:
    return _INTAKE_LOCKS[hash((key, uscc, category)) % len(_INTAKE_LOCKS)]


@dataclass(frozen=True)
class Filed:
    complaint: Complaint
    # The stored contact, only when the caller is the system that filed it.
    contact: Contact | None
    # False when a repeated request_id returned the complaint its first request filed.
    created: bool


def create_complaint(
    uow: ComplaintsUoW,
    draft: ComplaintDraft,
    contact: Contact | None,
    request_id: str,
    principal: Principal,
    rules: Rules,
    *,
    now: datetime | None = None,
) -> Filed:
    """Files a complaint and stages ComplaintFiled, or returns the original of a repeated request."""
    if principal.role not in (Role.SYSTEM, Role.PUBLIC):
        raise permission_denied(f"role {principal.role} may not file complaints (system or public only)")
    intake, contact = validate_intake(draft, contact, request_id, now or utcnow())
    key = complainant_key(contact, principal)
    request_key = normalize_request_id(request_id)
    with _intake_lock(key, intake.uscc, intake.category):
        # The filing time is taken inside the lock, so filing order and time order agree.
        return _file(uow, intake, contact, key, request_key, principal, rules, now or utcnow())


def _file(
    uow: ComplaintsUoW,
    intake: Intake,
    contact: Contact | None,
    key: str,
    request_key: str | None,
    principal: Principal,
    rules: Rules,
    now: datetime,
) -> Filed:
    def same(original: Complaint) -> bool:
        return (
            original.intake == intake
            and original.complainant_key == key
            and original.filer_role == principal.role
            and original.filer_subject == principal.subject
        )

    # Two attempts: when a concurrent create wins the race for the request_id, the second look
    # returns its complaint.
    for attempt in range(2):
        with uow:
            # First, and held until commit: whether the registry knows the enterprise, and where it is
            # registered; a registration being matched concurrently waits for this complaint, or this
            # complaint for it (services/complaints/use_cases/matching.py).
            registered_region = uow.registry.hold(intake.uscc)
            if request_key:
                first = uow.complaints.get_by_request_id(request_key)
                if (original := repeat_of(first, same, request_key, "complaint")) is not None:
                    stored = uow.complaints.contact_of(original.id) if original.is_filer(principal) else None
                    return Filed(original, stored, created=False)
            duplicate_of = None
            if rules.duplicate_window > timedelta(0):
                since = now - rules.duplicate_window
                found = uow.complaints.find_original(key, intake.uscc, intake.category, since)
                duplicate_of = found.id if found is not None else None
            complaint = file_complaint(
                intake,
                contact=contact,
                principal=principal,
                now=now,
                request_id=request_key,
                duplicate_of=duplicate_of,
                registered_region=registered_region,
            )
            uow.complaints.add(complaint, contact)
            event = new_event(
                mapping.EVENT_SOURCE,
                complaint.uscc,
                mapping.filed_event(complaint),
                occurred_at=complaint.create_time,
            )
            uow.add_event(TOPIC, event)
            try:
                uow.commit()
            except StorageConflict:
                if attempt == 0:
                    continue
                raise IntegrityError(
                    "a concurrent write kept the complaint from being stored; retry with the same request_id",
                    "CONCURRENT_WRITE",
                    ErrorKind.ABORTED,
                ) from None
        audit("CreateComplaint", complaint, principal, event_id=event.id, duplicate_of=duplicate_of)
        return Filed(complaint, contact if principal.role == Role.SYSTEM else None, created=True)
    raise AssertionError("unreachable")  # pragma: no cover
