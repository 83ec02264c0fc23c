"""The regulator's workflow: accept, reject, investigate, resolve and close a complaint.

Each move loads the complaint, checks that the caller handles it and that the etag still matches, lets the
domain's transition table decide, saves and stages the event other services consume.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from google.protobuf.message import Message

from services.complaints.adapters import mapping
from services.complaints.domain import complaint as lifecycle
from services.complaints.domain.complaint import Complaint, Resolution, complaint_name, parse_complaint_name
from services.complaints.manifest import TOPIC
from services.complaints.use_cases.audit import audit
from services.complaints.use_cases.reading import require_handler
from services.complaints.use_cases.unit_of_work import ComplaintsUoW
from shared.auth import Principal
from shared.errors import ErrorKind, IntegrityError, invalid_argument, not_found
from shared.events import new_event, utcnow


def _aborted(message: str, complaint: Complaint) -> IntegrityError:
    return IntegrityError(message, "ETAG_MISMATCH", ErrorKind.ABORTED, {"resource": complaint.name})


def _act(
    uow: ComplaintsUoW,
    action: str,
    name: str,
    etag: str,
    principal: Principal,
    change: Callable[[Complaint, datetime], Complaint],
    event_for: Callable[[Complaint], Message] | None,
    now: datetime | None,
) -> Complaint:
    """Loads, authorizes, applies `change` (the transition table decides), saves and stages the event."""
    complaint_id = parse_complaint_name(name)
    now = now or utcnow()
    with uow:
        complaint = uow.complaints.get(complaint_id)
        if complaint is None:
            raise not_found(complaint_name(complaint_id))
        require_handler(complaint, principal)
        if etag and etag != complaint.etag:
            raise _aborted(f"{complaint.name} changed since etag {etag}; read it again and retry", complaint)
        changed = change(complaint, now)
        if not uow.complaints.save(changed, complaint.etag):
            raise _aborted(f"{complaint.name} was changed concurrently; read it again and retry", complaint)
        event_id = None
        if event_for is not None:
            event = new_event(mapping.EVENT_SOURCE, changed.uscc, event_for(changed), occurred_at=now)
            uow.add_event(TOPIC, event)
            event_id = event.id
        uow.commit()
    audit(action, changed, principal, state=lifecycle.state_label(changed.state), event_id=event_id)
    return changed


def accept_complaint(
    uow: ComplaintsUoW, name: str, etag: str, principal: Principal, *, now: datetime | None = None
) -> Complaint:
    return _act(uow, "AcceptComplaint", name, etag, principal, lifecycle.accept, mapping.accepted_event, now)


def reject_complaint(
    uow: ComplaintsUoW,
    name: str,
    reason: str,
    etag: str,
    principal: Principal,
    *,
    now: datetime | None = None,
) -> Complaint:
    parse_complaint_name(name)
    lifecycle.check_reason(reason)

    def change(complaint: Complaint, moment: datetime) -> Complaint:
        return lifecycle.reject(complaint, reason, moment)

    return _act(uow, "RejectComplaint", name, etag, principal, change, mapping.rejected_event, now)


def investigate_complaint(
    uow: ComplaintsUoW, name: str, etag: str, principal: Principal, *, now: datetime | None = None
) -> Complaint:
    return _act(uow, "InvestigateComplaint", name, etag, principal, lifecycle.investigate, None, now)


def resolve_complaint(
    uow: ComplaintsUoW,
    name: str,
    resolution: Resolution,
    etag: str,
    principal: Principal,
    *,
    now: datetime | None = None,
) -> Complaint:
    # Bad input is reported before anything is looked up.
    violations = lifecycle.resolution_violations(resolution)
    try:
        parse_complaint_name(name)
    except IntegrityError as err:
        violations = err.field_violations + violations
    if violations:
        raise invalid_argument(violations)

    def change(complaint: Complaint, moment: datetime) -> Complaint:
        return lifecycle.resolve(complaint, resolution, moment)

    return _act(uow, "ResolveComplaint", name, etag, principal, change, mapping.resolved_event, now)


def close_complaint(
    uow: ComplaintsUoW, name: str, etag: str, principal: Principal, *, now: datetime | None = None
) -> Complaint:
    return _act(uow, "CloseComplaint", name, etag, principal, lifecycle.close, None, now)
