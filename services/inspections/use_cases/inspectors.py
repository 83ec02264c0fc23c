"""The roster: creating, updating and listing inspectors (regulators within their region)."""

from __future__ import annotations

from services.inspections.domain import inspectors as domain
from services.inspections.domain.inspectors import Inspector, inspector_id_of
from services.inspections.use_cases.access import require_region
from services.inspections.use_cases.audit import audit
from services.inspections.use_cases.queries import Page, decode_page_token, page_of, page_size_of
from services.inspections.use_cases.unit_of_work import InspectionsUoW
from shared.auth import Principal, Role, listing_region
from shared.errors import (
    FieldViolation,
    StorageConflict,
    already_exists,
    invalid_argument,
    not_found,
    permission_denied,
)
from shared.events import utcnow
from shared.regions import region_problem


def create_inspector(
    uow: InspectionsUoW,
    inspector_id: str,
    display_name: str,
    region_code: str,
    qualifications: list[int],
    principal: Principal,
) -> Inspector:
    inspector = domain.validate_inspector(inspector_id, display_name, region_code, qualifications, utcnow())
    require_region(principal, inspector.region_code)
    with uow:
        if uow.inspectors.get(inspector.id) is not None:
            raise already_exists(inspector.name)
        uow.inspectors.add(inspector)
        try:
            uow.commit()
        except StorageConflict:
            raise already_exists(inspector.name) from None
    audit("CreateInspector", inspector.name, principal, region_code=inspector.region_code)
    return inspector


def update_inspector(
    uow: InspectionsUoW,
    name: str,
    paths: list[str],
    *,
    available: bool,
    qualifications: list[int],
    display_name: str,
    principal: Principal,
) -> Inspector:
    inspector_id = inspector_id_of(name)
    if inspector_id is None:
        raise invalid_argument(
            [FieldViolation("inspector.name", f"must be inspectors/{{id}}, got {name[:60]!r}")]
        )
    with uow:
        inspector = uow.inspectors.get(inspector_id)
        if inspector is None:
            raise not_found(name)
        require_region(principal, inspector.region_code)
        changed = domain.update_inspector(
            inspector, paths, available=available, qualifications=qualifications, display_name=display_name
        )
        uow.inspectors.save(changed)
        uow.commit()
    audit("UpdateInspector", name, principal, fields=",".join(paths))
    return changed


def list_inspectors(
    uow: InspectionsUoW, principal: Principal, region_code: str, page_size: int, page_token: str
) -> Page[Inspector]:
    """A region's inspectors: a regulator's own region unless one inside it is asked for; the system's
    any region, or every one."""
    if region_code and (problem := region_problem(region_code)) is not None:
        raise invalid_argument([FieldViolation("region_code", problem)])
    if principal.role not in (Role.SYSTEM, Role.REGULATOR):
        raise permission_denied(f"{principal.role} {principal.subject!r} may not list inspectors")
    if principal.role == Role.REGULATOR:
        region_code = listing_region(principal, region_code or None, "inspectors")
    limit = page_size_of(page_size)
    query = f"inspectors:{region_code}"
    after = decode_page_token(page_token, query)
    with uow:
        found = uow.inspectors.list(region_code, after, limit + 1)
    return page_of(found, limit, query, lambda inspector: inspector.id)
