"""Reading complaints: by name, by receipt code, listed (scoped to the caller) and overdue.

Who may read what beyond the method access rules: regulators complaints in their region, an enterprise
decided complaints against itself, a system caller what it filed. The complainant's contact is returned
only to that system caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.complaints.domain.complaint import (
    ENTERPRISE_VISIBLE_STATES,
    Complaint,
    ComplaintQuery,
    complaint_name,
    normalize_receipt,
    parse_complaint_name,
)
from services.complaints.domain.deadlines import Rules
from services.complaints.domain.intake import Contact
from services.complaints.use_cases import queries
from services.complaints.use_cases.unit_of_work import ComplaintsUoW
from shared.auth import Principal, Role, listing_region
from shared.errors import (
    ErrorKind,
    FieldViolation,
    IntegrityError,
    invalid_argument,
    not_found,
    permission_denied,
)
from shared.events import utcnow
from shared.regions import region_contains, region_problem


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


def get_complaint(uow: ComplaintsUoW, name: str, principal: Principal) -> Read:
    complaint_id = parse_complaint_name(name)
    with uow:
        complaint = uow.complaints.get(complaint_id)
        if complaint is None:
            raise not_found(complaint_name(complaint_id))
        require_read(complaint, principal)
        contact = uow.complaints.contact_of(complaint_id) if complaint.is_filer(principal) else None
    return Read(complaint, contact)


def get_by_receipt(uow: ComplaintsUoW, receipt_code: str) -> Complaint:
    code = normalize_receipt(receipt_code)
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
        return query.scoped(region_code=listing_region(principal, query.region_code, "complaints"))
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
    return Page(page, queries.encode_page_token(page[-1].id, fingerprint) if more else "")


def list_complaints(
    uow: ComplaintsUoW,
    principal: Principal,
    *,
    filter_text: str = "",
    page_size: int = 0,
    page_token: str = "",
) -> Page:
    size = queries.page_size_of(page_size)
    query = queries.parse_filter(filter_text)
    fingerprint = queries.fingerprint(query)
    after = queries.decode_page_token(page_token, fingerprint)
    scoped = scope_query(query, principal)
    with uow:
        found = uow.complaints.list(scoped, after, size + 1)
    return _page(found, size, fingerprint)


def list_overdue(
    uow: ComplaintsUoW,
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
    region = listing_region(principal, region_code or None, "overdue complaints")
    size = queries.page_size_of(page_size)
    fingerprint = f"overdue:{region}"
    after = queries.decode_page_token(page_token, fingerprint)
    now = now or utcnow()
    deadlines = rules.deadlines
    with uow:
        found = uow.complaints.list_overdue(
            region, deadlines.received_before(now), deadlines.accepted_before(now), after, size + 1
        )
    return _page(found, size, fingerprint)
