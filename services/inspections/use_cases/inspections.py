"""Inspections and their results: reading and listing them, completing one, its rectification, flagging
rectifications past their deadline, and the published results (一公开).

Only an inspector assigned to an inspection (token subject `inspectors/{id}`) records its result or its
rectification, and an inspector reads and lists only the inspections assigned to them; a regulator those
of their region, the system every one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from services.inspections.adapters import mapping
from services.inspections.domain import inspections as domain
from services.inspections.domain.commitment import opening
from services.inspections.domain.findings import Findings
from services.inspections.domain.inspections import Inspection, PublishedResult
from services.inspections.domain.inspectors import inspector_id_of
from services.inspections.domain.local_copy import TRIGGER_OVERDUE
from services.inspections.domain.names import INSPECTION_PREFIX, parse_name
from services.inspections.domain.worklist import InspectionQuery
from services.inspections.manifest import TOPIC
from services.inspections.use_cases.access import require_region
from services.inspections.use_cases.audit import audit
from services.inspections.use_cases.plans import public_commitment, revealed
from services.inspections.use_cases.queries import (
    Page,
    decode_page_token,
    page_of,
    page_size_of,
    parse_inspection_filter,
    parse_published_filter,
)
from services.inspections.use_cases.unit_of_work import InspectionsUoW
from shared.auth import Principal, Role, listing_region
from shared.errors import FieldViolation, concurrent_change, invalid_argument, not_found, permission_denied
from shared.events import new_event, utcnow
from shared.regions import region_problem
from shared.workdays import PRC, WorkingCalendar, china_date

# How many overdue rectifications one check flags at most (the next check takes the rest).
OVERDUE_BATCH = 500


def _assigned(uow: InspectionsUoW, name: str, principal: Principal) -> tuple[Inspection, str]:
    """The inspection and the caller's inspector id; PERMISSION_DENIED unless assigned to it."""
    inspection_id = parse_name(name, INSPECTION_PREFIX)
    inspection = uow.inspections.get(inspection_id)
    if inspection is None:
        raise not_found(name)
    inspector_id = inspector_id_of(principal.subject)
    if principal.role != Role.INSPECTOR or inspector_id not in inspection.inspectors:
        raise permission_denied(
            f"{principal.subject!r} is not assigned to {name}; only its inspectors may record its result",
            "NOT_ASSIGNED",
        )
    return inspection, inspector_id


def get_inspection(uow: InspectionsUoW, name: str, principal: Principal) -> Inspection:
    """The inspection, for its assigned inspectors, a regulator of its region or the system."""
    inspection_id = parse_name(name, INSPECTION_PREFIX)
    with uow:
        inspection = uow.inspections.get(inspection_id)
    if inspection is None:
        raise not_found(name)
    if principal.role == Role.REGULATOR:
        require_region(principal, inspection.region_code)
    elif principal.role != Role.SYSTEM and inspector_id_of(principal.subject) not in inspection.inspectors:
        raise permission_denied(
            f"{principal.subject!r} is not assigned to {name}; an inspector reads only their own inspections",
            "NOT_ASSIGNED",
        )
    return inspection


def list_inspections(
    uow: InspectionsUoW, principal: Principal, filter_text: str, page_size: int, page_token: str
) -> Page[Inspection]:
    """A page of inspections by id: an inspector's own, a regulator's region, any for the system."""
    limit = page_size_of(page_size)
    query = _scoped(parse_inspection_filter(filter_text), principal)
    fingerprint = f"inspections:{query.canonical()}"
    after = decode_page_token(page_token, fingerprint)
    with uow:
        found = uow.inspections.list(query, after, limit + 1)
    return page_of(found, limit, fingerprint, lambda inspection: inspection.id)


def _scoped(query: InspectionQuery, principal: Principal) -> InspectionQuery:
    if principal.role == Role.SYSTEM:
        return query
    if principal.role == Role.INSPECTOR:
        own = inspector_id_of(principal.subject)
        if own is None or query.inspector_id not in (None, own):
            raise permission_denied(
                f"{principal.subject!r} may list only the inspections assigned to them "
                "(filter on inspector = their own inspectors/{id}, or leave it out)",
                "NOT_ASSIGNED",
            )
        return query.with_inspector(own)
    return query.with_region(listing_region(principal, query.region_code, "inspections"))


def complete_inspection(
    uow: InspectionsUoW,
    name: str,
    *,
    outcome: int,
    findings: Findings,
    penalty_reference: str,
    rectification_deadline: datetime | None,
    principal: Principal,
    publication_working_days: int,
    calendar: WorkingCalendar = PRC,
    now: datetime | None = None,
) -> Inspection:
    now = now or utcnow()
    with uow:
        inspection, inspector_id = _assigned(uow, name, principal)
        done = domain.complete(
            inspection,
            outcome=outcome,
            findings=findings,
            penalty_reference=penalty_reference,
            rectification_deadline=rectification_deadline,
            inspector_id=inspector_id,
            now=now,
            publication_working_days=publication_working_days,
            calendar=calendar,
        )
        if not uow.inspections.save(done, inspection.state):
            raise concurrent_change(name)
        uow.add_event(TOPIC, new_event(mapping.EVENT_SOURCE, done.uscc, mapping.completed_event(done), now))
        uow.commit()
    audit("CompleteInspection", done.name, principal, outcome=outcome)
    return done


def complete_rectification(uow: InspectionsUoW, name: str, principal: Principal) -> Inspection:
    now = utcnow()
    with uow:
        inspection, _ = _assigned(uow, name, principal)
        rectified = domain.rectify(inspection)
        if not uow.inspections.save(rectified, inspection.state):
            raise concurrent_change(name)
        payload = mapping.rectified_event(rectified)
        uow.add_event(TOPIC, new_event(mapping.EVENT_SOURCE, rectified.uscc, payload, now))
        uow.commit()
    audit("CompleteRectification", rectified.name, principal)
    return rectified


def flag_overdue_rectifications(uow: InspectionsUoW, now: datetime | None = None) -> int:
    """Marks rectifications past their deadline overdue, once each: RectificationOverdue, and the
    enterprise is triggered for its region's next plan. Returns how many were flagged. One that another
    checker (a second replica) or a CompleteRectification moved meanwhile is left to it."""
    now = now or utcnow()
    flagged = 0
    with uow:
        due = uow.inspections.rectifications_due_before(now, OVERDUE_BATCH)
        for inspection in due:
            overdue = domain.mark_overdue(inspection)
            if not uow.inspections.save(overdue, inspection.state):
                continue
            flagged += 1
            payload = mapping.overdue_event(overdue)
            occurred_at = overdue.rectification_deadline
            uow.add_event(
                TOPIC, new_event(mapping.EVENT_SOURCE, overdue.uscc, payload, occurred_at=occurred_at)
            )
            uow.enterprises.save(uow.enterprises.get(overdue.uscc).triggered(TRIGGER_OVERDUE))
        uow.commit()
    return flagged


def list_published(
    uow: InspectionsUoW,
    region_code: str,
    page_size: int,
    page_token: str,
    today: date | None = None,
    filter_text: str = "",
) -> Page[PublishedResult]:
    """Published results, newest first: of a region, and of one plan when the filter names it."""
    if region_code and (problem := region_problem(region_code)) is not None:
        raise invalid_argument([FieldViolation("region_code", problem)])
    plan_id = parse_published_filter(filter_text)
    limit = page_size_of(page_size)
    query = f"published:{region_code}:{plan_id or ''}"
    after = decode_page_token(page_token, query)
    now = utcnow()
    with uow:
        today = today or china_date(now)
        found = uow.inspections.published(region_code or None, today, after, limit + 1, plan_id)
        found = _with_commitments(uow, found, now)
    return page_of(found, limit, query, lambda result: result.inspection.id)


def _with_commitments(
    uow: InspectionsUoW, found: list[PublishedResult], now: datetime
) -> list[PublishedResult]:
    """Each result with its plan's public commitment and its enterprise's opening (plans drawn before
    commitments have neither)."""
    plans = uow.plans.get_many({result.inspection.plan_id for result in found})
    committed = [plan for plan in plans.values() if plan.commitment is not None]
    shown = revealed(uow, committed, now)
    views = {plan.id: public_commitment(plan, shown[plan.id]) for plan in committed}
    return [
        replace(result, commitment=view, opening=opening(view.commitment.tag_key, result.inspection.uscc))
        if (view := views.get(result.inspection.plan_id)) is not None
        else result
        for result in found
    ]
