"""Use cases of the inspections service. Each runs in one unit of work; errors are shared.errors.

Beyond the method policy: regulators act within their region; only an inspector assigned to an
inspection (token subject `inspectors/{id}`) records its result or its rectification.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2
from services.inspections.adapters.unit_of_work import InspectionsUnitOfWork
from services.inspections.domain import inspections as domain
from services.inspections.domain.draw import (
    DrawInputs,
    NotEnoughInspectors,
    draw,
    inputs_from_json,
    inputs_to_json,
)
from services.inspections.domain.inspections import (
    INSPECTION_PREFIX,
    PLAN_PREFIX,
    PLANNED,
    TRIGGER_OVERDUE,
    Findings,
    Inspection,
    Inspector,
    Plan,
    PlanRequest,
)
from services.inspections.manifest import TOPIC
from shared import pagination
from shared.auth import Principal, Role
from shared.errors import (
    ErrorKind,
    FieldViolation,
    IntegrityError,
    already_exists,
    failed_precondition,
    invalid_argument,
    not_found,
    permission_denied,
)
from shared.events import new_event, utcnow
from shared.regions import region_contains, region_problem
from shared.unit_of_work import StorageConflict

EVENT_SOURCE = "//integrity/inspections"
audit_log = logging.getLogger("integrity.audit")


def _audit(action: str, resource: str, principal: Principal, **extra: object) -> None:
    audit_log.info(
        f"inspections {action}",
        extra={
            "action": action,
            "resource": resource,
            "subject": principal.subject,
            "role": str(principal.role),
            **extra,
        },
    )


def _require_region(principal: Principal, region_code: str) -> None:
    if principal.role == Role.SYSTEM:
        return
    if (
        principal.role == Role.REGULATOR
        and principal.region
        and region_contains(principal.region, region_code)
    ):
        return
    raise permission_denied(
        f"{principal.role} {principal.subject!r} of region {principal.region} may not act in {region_code}",
        "OUTSIDE_REGION",
    )


# --- pagination (AIP-158): an opaque token carrying the last id and the query -----------------------


def _page_size(requested: int) -> int:
    return pagination.page_size(requested)


def _encode_token(last_id: str, query: str) -> str:
    return pagination.encode_page_token(last_id, pagination.fingerprint(query))


def _decode_token(token: str, query: str) -> str | None:
    after = pagination.decode_page_token(token, pagination.fingerprint(query))
    if after is not None and not isinstance(after, str):
        raise pagination.invalid_page_token()
    return after


# --- inspectors -------------------------------------------------------------------------------------


def create_inspector(
    uow: InspectionsUnitOfWork,
    inspector_id: str,
    display_name: str,
    region_code: str,
    qualifications: list[int],
    principal: Principal,
) -> Inspector:
    inspector = domain.validate_inspector(inspector_id, display_name, region_code, qualifications, utcnow())
    _require_region(principal, inspector.region_code)
    with uow:
        if uow.repository.get_inspector(inspector.id) is not None:
            raise already_exists(inspector.name)
        uow.repository.add_inspector(inspector)
        try:
            uow.commit()
        except StorageConflict:
            raise already_exists(inspector.name) from None
    _audit("CreateInspector", inspector.name, principal, region_code=inspector.region_code)
    return inspector


def update_inspector(
    uow: InspectionsUnitOfWork,
    name: str,
    paths: list[str],
    *,
    available: bool,
    qualifications: list[int],
    display_name: str,
    principal: Principal,
) -> Inspector:
    inspector_id = domain.inspector_id_of(name)
    if inspector_id is None:
        raise invalid_argument(
            [FieldViolation("inspector.name", f"must be inspectors/{{id}}, got {name[:60]!r}")]
        )
    with uow:
        inspector = uow.repository.get_inspector(inspector_id)
        if inspector is None:
            raise not_found(name)
        _require_region(principal, inspector.region_code)
        changed = domain.update_inspector(
            inspector, paths, available=available, qualifications=qualifications, display_name=display_name
        )
        uow.repository.save_inspector(changed)
        uow.commit()
    _audit("UpdateInspector", name, principal, fields=",".join(paths))
    return changed


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_page_token: str


def list_inspectors(
    uow: InspectionsUnitOfWork, principal: Principal, region_code: str, page_size: int, page_token: str
) -> Page[Inspector]:
    region_code = region_code or (principal.region or "")
    if region_code and (problem := region_problem(region_code)) is not None:
        raise invalid_argument([FieldViolation("region_code", problem)])
    if not region_code and principal.role != Role.SYSTEM:
        raise invalid_argument([FieldViolation("region_code", "is required")])
    if region_code:
        _require_region(principal, region_code)
    limit = _page_size(page_size)
    after = _decode_token(page_token, f"inspectors:{region_code}")
    with uow:
        found = uow.repository.list_inspectors(region_code, after, limit + 1)
    token = _encode_token(found[limit - 1].id, f"inspectors:{region_code}") if len(found) > limit else ""
    return Page(found[:limit], token)


# --- plans ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanView:
    plan: Plan
    inspections: list[Inspection]


def planned_event(inspection: Inspection, plan: Plan) -> events_pb2.InspectionPlanned:
    return events_pb2.InspectionPlanned(
        inspection=inspection.name, plan=plan.name, trigger=inspection.trigger
    )


def create_plan(
    uow: InspectionsUnitOfWork, request: PlanRequest, request_id: str, principal: Principal
) -> PlanView:
    """Draws and stores a plan with its inspections, or returns the plan of a repeated request_id."""
    _require_region(principal, request.region_code)
    request_key = request_id.lower() or None
    now = utcnow()
    with uow:
        if request_key and (original := uow.repository.get_plan_by_request_id(request_key)) is not None:
            same = (original.region_code, original.subject_type, original.ratios) == (
                request.region_code,
                request.subject_type,
                request.ratios,
            )
            if not same:
                raise IntegrityError(
                    f"request_id {request_key} was already used for another plan ({original.name}); "
                    "use a new request_id for a different plan",
                    "REQUEST_ID_REUSED",
                    ErrorKind.ALREADY_EXISTS,
                    {"request_id": request_key, "resource": original.name},
                )
            return PlanView(original, uow.repository.inspections_of_plan(original.id))
        inputs = DrawInputs(
            seed=request.seed,
            candidates=tuple(uow.repository.candidates(request.region_code, request.subject_type)),
            officers=tuple(uow.repository.officers(request.region_code)),
            ratios=request.ratios,
        )
        try:
            drawn = draw(inputs)
        except NotEnoughInspectors as exc:
            raise failed_precondition(str(exc), "NOT_ENOUGH_INSPECTORS") from None
        plan = Plan(
            id=domain.new_id(now),
            region_code=request.region_code,
            subject_type=request.subject_type,
            ratios=request.ratios,
            seed=request.seed,
            snapshot=json.dumps(inputs_to_json(inputs), separators=(",", ":")),
            created_by=principal.subject,
            request_id=request_key,
            create_time=now,
        )
        uow.repository.add_plan(plan)
        inspections = []
        for position, item in enumerate(drawn):
            inspection = Inspection(
                id=domain.new_id(now),
                plan_id=plan.id,
                uscc=item.uscc,
                region_code=item.uscc[2:8],
                inspectors=item.inspectors,
                trigger=item.trigger,
                state=PLANNED,
                create_time=now,
            )
            uow.repository.add_inspection(inspection, position)
            uow.add_event(
                TOPIC,
                new_event(EVENT_SOURCE, item.uscc, planned_event(inspection, plan), occurred_at=now),
            )
            inspections.append(inspection)
        uow.repository.clear_triggers([i.uscc for i in inspections if i.trigger])
        try:
            uow.commit()
        except StorageConflict:
            raise IntegrityError(
                "a concurrent request with the same request_id stored its plan first; repeat the request",
                "CONCURRENT_WRITE",
                ErrorKind.ABORTED,
            ) from None
    _audit("CreateInspectionPlan", plan.name, principal, seed=plan.seed, inspections=len(inspections))
    return PlanView(plan, inspections)


def get_plan(uow: InspectionsUnitOfWork, name: str, principal: Principal) -> PlanView:
    plan_id = domain.parse_name(name, PLAN_PREFIX)
    with uow:
        plan = uow.repository.get_plan(plan_id)
        if plan is None:
            raise not_found(name)
        if principal.role == Role.REGULATOR:
            _require_region(principal, plan.region_code)
        return PlanView(plan, uow.repository.inspections_of_plan(plan_id))


@dataclass(frozen=True)
class Verification:
    matches: bool
    differences: list[str]


def verify_plan(uow: InspectionsUnitOfWork, name: str) -> Verification:
    """Recomputes the plan's draw from its stored snapshot and compares it with its stored inspections."""
    plan_id = domain.parse_name(name, PLAN_PREFIX)
    with uow:
        plan = uow.repository.get_plan(plan_id)
        if plan is None:
            raise not_found(name)
        stored = uow.repository.inspections_of_plan(plan_id)
    differences: list[str] = []
    try:
        inputs = inputs_from_json(json.loads(plan.snapshot))
    except ValueError as exc:
        return Verification(False, [f"the snapshot cannot be read: {exc}"])
    if inputs.seed != plan.seed:
        differences.append(f"the snapshot's seed {inputs.seed} is not the plan's seed {plan.seed}")
    try:
        expected = [(d.uscc, d.inspectors) for d in draw(inputs)]
    except NotEnoughInspectors as exc:
        return Verification(False, [f"the snapshot cannot be drawn: {exc}"])
    actual = [(i.uscc, i.inspectors) for i in stored]
    if len(expected) != len(actual):
        differences.append(f"the draw has {len(expected)} inspections, the plan stores {len(actual)}")
    for (e_uscc, e_team), (a_uscc, a_team) in zip(expected, actual, strict=False):
        if (e_uscc, e_team) != (a_uscc, a_team):
            differences.append(
                f"expected {e_uscc} by {','.join(e_team)}, stored {a_uscc} by {','.join(a_team)}"
            )
    return Verification(not differences, differences)


# --- results ----------------------------------------------------------------------------------------


def _assigned(uow: InspectionsUnitOfWork, name: str, principal: Principal) -> tuple[Inspection, str]:
    """The inspection and the caller's inspector id; PERMISSION_DENIED unless assigned to it."""
    inspection_id = domain.parse_name(name, INSPECTION_PREFIX)
    inspection = uow.repository.get_inspection(inspection_id)
    if inspection is None:
        raise not_found(name)
    inspector_id = domain.inspector_id_of(principal.subject)
    if principal.role != Role.INSPECTOR or inspector_id not in inspection.inspectors:
        raise permission_denied(
            f"{principal.subject!r} is not assigned to {name}; only its inspectors may record its result",
            "NOT_ASSIGNED",
        )
    return inspection, inspector_id


def summary_of(findings: Findings) -> events_pb2.InspectionFindingSummary:
    Q = inspections_pb2
    return events_pb2.InspectionFindingSummary(
        instruments_checked=len(findings.instruments),
        instruments_overdue=sum(
            1 for i in findings.instruments if i.verification_status == Q.VERIFICATION_STATUS_OVERDUE
        ),
        instruments_failed=sum(
            1 for i in findings.instruments if i.verification_status == Q.VERIFICATION_STATUS_FAILED
        ),
        tampering_found=any(i.tampering_found for i in findings.instruments),
        net_content_samples=sum(n.batches_sampled for n in findings.net_content),
        net_content_short=sum(n.batches_short for n in findings.net_content),
        largest_shortfall_percent=max(
            (n.largest_shortfall_percent for n in findings.net_content), default=0.0
        ),
        # DeclarationCheck and CapabilityDeclarationCheck share their numbers.
        capability_declaration=findings.capability_declaration,  # type: ignore[arg-type]
        inspection_refused=findings.inspection_refused,
    )


def completed_event(inspection: Inspection) -> events_pb2.InspectionCompleted:
    event = events_pb2.InspectionCompleted(
        inspection=inspection.name,
        outcome=inspection.outcome,  # type: ignore[arg-type]
        summary=summary_of(inspection.findings),
        penalty_reference=inspection.penalty_reference,
    )
    if inspection.rectification_deadline is not None:
        event.rectification_deadline.FromDatetime(inspection.rectification_deadline)
    return event


def complete_inspection(
    uow: InspectionsUnitOfWork,
    name: str,
    *,
    outcome: int,
    findings: Findings,
    penalty_reference: str,
    rectification_deadline: datetime | None,
    principal: Principal,
    publication_working_days: int,
) -> Inspection:
    now = utcnow()
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
        )
        uow.repository.save_inspection(done)
        uow.add_event(TOPIC, new_event(EVENT_SOURCE, done.uscc, completed_event(done), now))
        uow.commit()
    _audit("CompleteInspection", done.name, principal, outcome=outcome)
    return done


def complete_rectification(uow: InspectionsUnitOfWork, name: str, principal: Principal) -> Inspection:
    now = utcnow()
    with uow:
        inspection, _ = _assigned(uow, name, principal)
        rectified = domain.rectify(inspection)
        uow.repository.save_inspection(rectified)
        payload = events_pb2.RectificationCompleted(inspection=rectified.name)
        uow.add_event(TOPIC, new_event(EVENT_SOURCE, rectified.uscc, payload, now))
        uow.commit()
    _audit("CompleteRectification", rectified.name, principal)
    return rectified


def flag_overdue_rectifications(uow: InspectionsUnitOfWork, now: datetime | None = None) -> int:
    """Marks rectifications past their deadline overdue, once each: RectificationOverdue, and the
    enterprise is triggered for its region's next plan. Returns how many were flagged."""
    now = now or utcnow()
    with uow:
        due = uow.repository.rectifications_due_before(now, 500)
        for inspection in due:
            overdue = domain.mark_overdue(inspection)
            uow.repository.save_inspection(overdue)
            assert overdue.rectification_deadline is not None
            payload = events_pb2.RectificationOverdue(inspection=overdue.name)
            payload.deadline.FromDatetime(overdue.rectification_deadline)
            uow.add_event(
                TOPIC,
                new_event(EVENT_SOURCE, overdue.uscc, payload, occurred_at=overdue.rectification_deadline),
            )
            enterprise = uow.repository.enterprise(overdue.uscc)
            enterprise.trigger = TRIGGER_OVERDUE
            uow.repository.save_enterprise(enterprise)
        uow.commit()
    return len(due)


# --- publication (一公开) ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PublishedResult:
    inspection: Inspection
    enterprise_name: str


def list_published(
    uow: InspectionsUnitOfWork, region_code: str, page_size: int, page_token: str, today: date | None = None
) -> Page[PublishedResult]:
    if region_code and (problem := region_problem(region_code)) is not None:
        raise invalid_argument([FieldViolation("region_code", problem)])
    limit = _page_size(page_size)
    query = f"published:{region_code}"
    after = _decode_token(page_token, query)
    with uow:
        found = uow.repository.published(region_code or None, today or utcnow().date(), after, limit + 1)
    results = [PublishedResult(inspection, name) for inspection, name in found]
    token = _encode_token(results[limit - 1].inspection.id, query) if len(results) > limit else ""
    return Page(results[:limit], token)
