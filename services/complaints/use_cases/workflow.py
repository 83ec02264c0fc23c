"""Use cases of the complaints service. Each runs in one unit of work; errors are shared.errors.

Who may do what beyond the method policy: regulators act on complaints in their region, an enterprise
reads decided complaints against itself, a system caller reads what it filed. The complainant's
contact is returned only to that system caller and never enters an event or a log line.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from google.protobuf.message import Message

from integrity.events.v1 import events_pb2
from services.complaints.adapters.unit_of_work import ComplaintsUnitOfWork
from services.complaints.domain import complaint as domain
from services.complaints.domain.complaint import (
    ENTERPRISE_VISIBLE_STATES,
    Complaint,
    ComplaintDraft,
    Contact,
    Deadlines,
    Intake,
    Resolution,
    complainant_key,
    complaint_name,
    parse_complaint_name,
)
from services.complaints.manifest import TOPIC
from services.complaints.use_cases import queries as listing
from services.complaints.use_cases.queries import ComplaintQuery
from shared.auth import Principal, Role
from shared.errors import (
    ErrorKind,
    FieldViolation,
    IntegrityError,
    invalid_argument,
    not_found,
    permission_denied,
)
from shared.events import new_event, utcnow
from shared.regions import region_contains, region_problem
from shared.unit_of_work import StorageConflict

EVENT_SOURCE = "//integrity/complaints"
audit_log = logging.getLogger("integrity.audit")
# Filings by one complainant against one enterprise and category are serialized in this process, so
# a burst of repeats links to a single original (the look-up and the insert are not atomic otherwise).
# Replicas sharing a database can still, rarely, record two originals; scoring then counts both.
_INTAKE_LOCKS = tuple(threading.Lock() for _ in range(64))


def _intake_lock(key: str, uscc: str, category: int) -> threading.Lock:
    return _INTAKE_LOCKS[hash((key, uscc, category)) % len(_INTAKE_LOCKS)]


@dataclass(frozen=True)
class Rules:
    deadlines: Deadlines = field(default_factory=Deadlines)
    # A repeat within this window is linked to the original; zero turns duplicate detection off.
    duplicate_window: timedelta = timedelta(days=30)


@dataclass(frozen=True)
class Filed:
    complaint: Complaint
    # The stored contact, only when the caller is the system that filed it.
    contact: Contact | None
    # False when a repeated request_id returned the complaint its first request filed.
    created: bool


def _audit(action: str, complaint: Complaint, principal: Principal, **extra: object) -> None:
    # Never the contact, the description or the complainant key.
    audit_log.info(
        f"complaint {action}",
        extra={
            "action": action,
            "resource": complaint.name,
            "enterprise": complaint.uscc,
            "subject": principal.subject,
            "role": str(principal.role),
            **extra,
        },
    )


def _aborted(message: str, complaint: Complaint) -> IntegrityError:
    return IntegrityError(message, "ETAG_MISMATCH", ErrorKind.ABORTED, {"resource": complaint.name})


# --- intake ---------------------------------------------------------------------------------------


def _repeat_of(original: Complaint, intake: Intake, key: str, principal: Principal) -> bool:
    return (
        original.intake == intake
        and original.complainant_key == key
        and original.filer_role == principal.role
        and original.filer_subject == principal.subject
    )


def create_complaint(
    uow: ComplaintsUnitOfWork,
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
    intake, contact = domain.validate_intake(draft, contact, request_id, now or utcnow())
    key = complainant_key(contact, principal)
    request_key = request_id.lower() or None
    with _intake_lock(key, intake.uscc, intake.category):
        # The filing time is taken inside the lock, so filing order and time order agree.
        return _file(uow, intake, contact, key, request_key, principal, rules, now or utcnow())


def _file(
    uow: ComplaintsUnitOfWork,
    intake: Intake,
    contact: Contact | None,
    key: str,
    request_key: str | None,
    principal: Principal,
    rules: Rules,
    now: datetime,
) -> Filed:
    # Two attempts: when a concurrent create wins the race for the request_id, the second look
    # returns its complaint.
    for attempt in range(2):
        with uow:
            if request_key and (original := uow.complaints.get_by_request_id(request_key)) is not None:
                if not _repeat_of(original, intake, key, principal):
                    raise IntegrityError(
                        f"request_id {request_key} was already used for another complaint; "
                        "use a new request_id for a different complaint",
                        "REQUEST_ID_REUSED",
                        ErrorKind.ALREADY_EXISTS,
                        {"request_id": request_key},
                    )
                stored = uow.complaints.contact_of(original.id) if original.is_filer(principal) else None
                return Filed(original, stored, created=False)
            duplicate_of = None
            if rules.duplicate_window > timedelta(0):
                since = now - rules.duplicate_window
                found = uow.complaints.find_original(key, intake.uscc, intake.category, since)
                duplicate_of = found.id if found is not None else None
            complaint = domain.file_complaint(
                intake,
                contact=contact,
                principal=principal,
                now=now,
                request_id=request_key,
                duplicate_of=duplicate_of,
            )
            uow.complaints.add(complaint, contact)
            event = new_event(
                EVENT_SOURCE, complaint.uscc, filed_event(complaint), occurred_at=complaint.create_time
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
        _audit("CreateComplaint", complaint, principal, event_id=event.id, duplicate_of=duplicate_of)
        return Filed(complaint, contact if principal.role == Role.SYSTEM else None, created=True)
    raise AssertionError("unreachable")  # pragma: no cover


# --- events ---------------------------------------------------------------------------------------


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
    )


def accepted_event(complaint: Complaint) -> Message:
    return events_pb2.ComplaintAccepted(
        complaint=complaint.name,
        category=complaint.category,  # type: ignore[arg-type]
        duplicate_of=_duplicate_name(complaint),
    )


def rejected_event(complaint: Complaint) -> Message:
    return events_pb2.ComplaintRejected(
        complaint=complaint.name,
        category=complaint.category,  # type: ignore[arg-type]
        duplicate_of=_duplicate_name(complaint),
    )


def resolved_event(complaint: Complaint) -> Message:
    return events_pb2.ComplaintResolved(
        complaint=complaint.name,
        category=complaint.category,  # type: ignore[arg-type]
        substantiated=complaint.substantiated,
        severity=complaint.severity,  # type: ignore[arg-type]
        duplicate_of=_duplicate_name(complaint),
    )


# --- reads ----------------------------------------------------------------------------------------


def require_read(complaint: Complaint, principal: Principal) -> None:
    """Allows reading `complaint` only to whom it concerns; an enterprise gets NOT_FOUND until decided."""
    if principal.role == Role.SYSTEM:
        if complaint.is_filer(principal):
            return
        raise permission_denied(f"system caller {principal.subject!r} may read only the complaints it filed")
    if principal.role == Role.REGULATOR:
        require_handler(complaint, principal)
        return
    if principal.role == Role.ENTERPRISE and principal.uscc == complaint.uscc:
        if complaint.state in ENTERPRISE_VISIBLE_STATES:
            return
        # Not yet decided: the enterprise must not learn that a complaint exists.
        raise not_found(complaint.name)
    if principal.role == Role.ENTERPRISE:
        raise not_found(complaint.name)
    raise permission_denied(f"{principal.role} {principal.subject!r} may not read complaints")


def require_handler(complaint: Complaint, principal: Principal) -> None:
    """Only a regulator whose region contains the enterprise's handles its complaints."""
    if principal.role != Role.REGULATOR or not principal.region:
        raise permission_denied(f"{principal.role} {principal.subject!r} may not handle complaints")
    if not region_contains(principal.region, complaint.region_code):
        raise permission_denied(
            f"regulator for region {principal.region} cannot handle {complaint.name} against an "
            f"enterprise in region {complaint.region_code}",
            "OUTSIDE_REGION",
        )


@dataclass(frozen=True)
class Read:
    complaint: Complaint
    contact: Contact | None


def get_complaint(uow: ComplaintsUnitOfWork, name: str, principal: Principal) -> Read:
    complaint_id = parse_complaint_name(name)
    with uow:
        complaint = uow.complaints.get(complaint_id)
        if complaint is None:
            raise not_found(complaint_name(complaint_id))
        require_read(complaint, principal)
        contact = uow.complaints.contact_of(complaint_id) if complaint.is_filer(principal) else None
    return Read(complaint, contact)


def get_by_receipt(uow: ComplaintsUnitOfWork, receipt_code: str) -> Complaint:
    code = domain.normalize_receipt(receipt_code)
    with uow:
        complaint = uow.complaints.get_by_receipt(code)
    if complaint is None:
        raise IntegrityError("no complaint has this receipt code", "NOT_FOUND", ErrorKind.NOT_FOUND)
    return complaint


def scope_query(query: ComplaintQuery, principal: Principal) -> ComplaintQuery:
    """The query narrowed to what `principal` may see; PERMISSION_DENIED when it asks for more."""
    if principal.role == Role.SYSTEM:
        return query.scoped(filer_subject=principal.subject)
    if principal.role == Role.REGULATOR and principal.region:
        if query.region_code is None:
            return query.scoped(region_code=principal.region)
        if not region_contains(principal.region, query.region_code):
            raise permission_denied(
                f"regulator for region {principal.region} may not list region {query.region_code}",
                "OUTSIDE_REGION",
            )
        return query
    if principal.role == Role.ENTERPRISE and principal.uscc:
        if query.uscc is not None and query.uscc != principal.uscc:
            raise permission_denied(
                f"an enterprise may list only complaints against itself ({principal.uscc})"
            )
        return query.scoped(uscc=principal.uscc, states=ENTERPRISE_VISIBLE_STATES)
    raise permission_denied(f"{principal.role} {principal.subject!r} may not list complaints")


@dataclass(frozen=True)
class Page:
    complaints: list[Complaint]
    next_page_token: str


def _page(found: list[Complaint], size: int, fingerprint: str) -> Page:
    page = found[:size]
    more = len(found) > size
    return Page(page, listing.encode_page_token(page[-1].id, fingerprint) if more else "")


def list_complaints(
    uow: ComplaintsUnitOfWork,
    principal: Principal,
    *,
    filter_text: str = "",
    page_size: int = 0,
    page_token: str = "",
) -> Page:
    size = listing.page_size_of(page_size)
    query = listing.parse_filter(filter_text)
    after = listing.decode_page_token(page_token, query.fingerprint())
    scoped = scope_query(query, principal)
    with uow:
        found = uow.complaints.list(scoped, after, size + 1)
    return _page(found, size, query.fingerprint())


def list_overdue(
    uow: ComplaintsUnitOfWork,
    principal: Principal,
    rules: Rules,
    *,
    region_code: str = "",
    page_size: int = 0,
    page_token: str = "",
    now: datetime | None = None,
) -> Page:
    if principal.role != Role.REGULATOR or not principal.region:
        raise permission_denied(f"{principal.role} {principal.subject!r} may not list overdue complaints")
    if region_code and (problem := region_problem(region_code)) is not None:
        raise invalid_argument([FieldViolation("region_code", problem)])
    region = region_code or principal.region
    if not region_contains(principal.region, region):
        raise permission_denied(
            f"regulator for region {principal.region} may not list region {region}", "OUTSIDE_REGION"
        )
    size = listing.page_size_of(page_size)
    fingerprint = f"overdue:{region}"
    after = listing.decode_page_token(page_token, fingerprint)
    now = now or utcnow()
    deadlines = rules.deadlines
    with uow:
        found = uow.complaints.list_overdue(
            region, deadlines.received_before(now), deadlines.accepted_before(now), after, size + 1
        )
    return _page(found, size, fingerprint)


# --- workflow -------------------------------------------------------------------------------------


def _act(
    uow: ComplaintsUnitOfWork,
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
            event = new_event(EVENT_SOURCE, changed.uscc, event_for(changed), occurred_at=now)
            uow.add_event(TOPIC, event)
            event_id = event.id
        uow.commit()
    _audit(action, changed, principal, state=domain.state_label(changed.state), event_id=event_id)
    return changed


def accept_complaint(
    uow: ComplaintsUnitOfWork, name: str, etag: str, principal: Principal, *, now: datetime | None = None
) -> Complaint:
    return _act(uow, "AcceptComplaint", name, etag, principal, domain.accept, accepted_event, now)


def reject_complaint(
    uow: ComplaintsUnitOfWork,
    name: str,
    reason: str,
    etag: str,
    principal: Principal,
    *,
    now: datetime | None = None,
) -> Complaint:
    parse_complaint_name(name)
    domain.check_reason(reason)

    def change(complaint: Complaint, moment: datetime) -> Complaint:
        return domain.reject(complaint, reason, moment)

    return _act(uow, "RejectComplaint", name, etag, principal, change, rejected_event, now)


def investigate_complaint(
    uow: ComplaintsUnitOfWork, name: str, etag: str, principal: Principal, *, now: datetime | None = None
) -> Complaint:
    return _act(uow, "InvestigateComplaint", name, etag, principal, domain.investigate, None, now)


def resolve_complaint(
    uow: ComplaintsUnitOfWork,
    name: str,
    resolution: Resolution,
    etag: str,
    principal: Principal,
    *,
    now: datetime | None = None,
) -> Complaint:
    # Bad input is reported before anything is looked up.
    violations = domain.resolution_violations(resolution)
    try:
        parse_complaint_name(name)
    except IntegrityError as err:
        violations = err.field_violations + violations
    if violations:
        raise invalid_argument(violations)

    def change(complaint: Complaint, moment: datetime) -> Complaint:
        return domain.resolve(complaint, resolution, moment)

    return _act(uow, "ResolveComplaint", name, etag, principal, change, resolved_event, now)


def close_complaint(
    uow: ComplaintsUnitOfWork, name: str, etag: str, principal: Principal, *, now: datetime | None = None
) -> Complaint:
    return _act(uow, "CloseComplaint", name, etag, principal, domain.close, None, now)
