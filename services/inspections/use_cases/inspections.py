"""Inspections and their results: completing one, its rectification, flagging rectifications past their
deadline, and the published results (一公开).

Only an inspector assigned to an inspection (token subject `inspectors/{id}`) records its result or its
rectification.
"""

from __future__ import annotations

from datetime import date, datetime

from services.inspections.adapters import mapping
from services.inspections.domain import inspections as domain
from services.inspections.domain.inspections import Findings, Inspection, PublishedResult
from services.inspections.domain.inspectors import inspector_id_of
from services.inspections.domain.local_copy import TRIGGER_OVERDUE
from services.inspections.domain.names import INSPECTION_PREFIX, parse_name
from services.inspections.manifest import TOPIC
from services.inspections.use_cases.audit import audit
from services.inspections.use_cases.queries import Page, decode_page_token, page_of, page_size_of
from services.inspections.use_cases.unit_of_work import InspectionsUoW
from shared.auth import Principal, Role
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
    uow: InspectionsUoW, region_code: str, page_size: int, page_token: str, today: date | None = None
) -> Page[PublishedResult]:
    if region_code and (problem := region_problem(region_code)) is not None:
        raise invalid_argument([FieldViolation("region_code", problem)])
    limit = page_size_of(page_size)
    query = f"published:{region_code}"
    after = decode_page_token(page_token, query)
    with uow:
        today = today or china_date(utcnow())
        found = uow.inspections.published(region_code or None, today, after, limit + 1)
    return page_of(found, limit, query, lambda result: result.inspection.id)
