"""Use cases of the enterprise registry. Each runs in one unit of work; errors are shared.errors."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime

from integrity.events.v1 import events_pb2
from services.enterprises.adapters.mapping import to_proto
from services.enterprises.domain.enterprise import (
    ABORTED_ETAG,
    Enterprise,
    EnterpriseChange,
    EnterpriseDraft,
    EnterpriseQuery,
    apply_change,
    enterprise_name,
    parse_enterprise_name,
    register,
    resolve_mask,
    validate_registration,
)
from services.enterprises.domain.values import china_today
from services.enterprises.use_cases import queries
from services.enterprises.use_cases.common import audit, original_of, stage
from services.enterprises.use_cases.unit_of_work import EnterprisesUoW
from shared.auth import REGIONAL_ROLES, Principal, Role, listing_region, require_enterprise_read
from shared.errors import (
    ErrorKind,
    IntegrityError,
    StorageConflict,
    already_exists,
    not_found,
    permission_denied,
)
from shared.events import utcnow
from shared.idempotency import normalize_request_id


@dataclass(frozen=True)
class Created:
    enterprise: Enterprise
    # False when a repeated request_id returned the enterprise its first request created.
    created: bool


def create_enterprise(
    uow: EnterprisesUoW,
    draft: EnterpriseDraft,
    request_id: str = "",
    principal: Principal | None = None,
    *,
    now: datetime | None = None,
    today: date | None = None,
) -> Created:
    """Registers an enterprise and stages EnterpriseRegistered, or returns the original of a repeat."""
    registration = validate_registration(draft, request_id, today=today)
    key = normalize_request_id(request_id)
    # Two attempts: if a concurrent create wins the race for a unique key, the second look tells a
    # repeat of the same request (return the original) from a real duplicate (ALREADY_EXISTS).
    for attempt in range(2):
        with uow:
            original = original_of(
                key,
                uow.enterprises.get_by_request_id,
                lambda found: found.registration == registration,
                "enterprise",
            )
            if original is not None:
                return Created(original, created=False)
            if uow.enterprises.get(registration.uscc) is not None:
                raise already_exists(
                    enterprise_name(registration.uscc),
                    "it was registered before; to retry a create safely, repeat it with the same request_id",
                )
            enterprise = register(registration, now or utcnow(), key)
            uow.enterprises.add(enterprise)
            payload = events_pb2.EnterpriseRegistered(enterprise=to_proto(enterprise))
            event = stage(uow, enterprise.uscc, payload, enterprise.create_time)
            try:
                uow.commit()
            except StorageConflict:
                if attempt == 0:
                    continue
                raise already_exists(enterprise_name(registration.uscc)) from None
        audit("CreateEnterprise", enterprise.name, principal, "enterprise registered", event_id=event.id)
        return Created(enterprise, created=True)
    raise AssertionError("unreachable")  # pragma: no cover


def get_enterprise(uow: EnterprisesUoW, name: str, principal: Principal) -> Enterprise:
    uscc = parse_enterprise_name(name)
    # Callers who can never read another enterprise are refused before the lookup, so NOT_FOUND
    # cannot tell them which USCCs are registered.
    if principal.role in (Role.ENTERPRISE, Role.PUBLIC):
        require_enterprise_read(principal, uscc, None)
    with uow:
        enterprise = uow.enterprises.get(uscc)
    if enterprise is None:
        raise not_found(enterprise_name(uscc))
    require_enterprise_read(principal, uscc, enterprise.region_code)
    return enterprise


def scope_query(query: EnterpriseQuery, principal: Principal) -> EnterpriseQuery:
    """The query narrowed to what `principal` may see; PERMISSION_DENIED when it asks for more."""
    if principal.role == Role.SYSTEM:
        return query
    if principal.role in REGIONAL_ROLES:
        return query.within(listing_region(principal, query.region_code, "enterprises"))
    if principal.role == Role.ENTERPRISE and principal.uscc:
        return replace(query, uscc=principal.uscc)
    raise permission_denied(f"{principal.role} {principal.subject!r} may not list enterprises")


@dataclass(frozen=True)
class Page:
    enterprises: list[Enterprise]
    next_page_token: str


def list_enterprises(
    uow: EnterprisesUoW,
    principal: Principal,
    *,
    filter_text: str = "",
    page_size: int = 0,
    page_token: str = "",
) -> Page:
    size = queries.page_size_of(page_size)
    query = queries.parse_filter(filter_text)
    after = queries.decode_page_token(page_token, query)
    scoped = scope_query(query, principal)
    with uow:
        found = uow.enterprises.list(scoped, after, size + 1)
    page = found[:size]
    more = len(found) > size
    return Page(page, queries.encode_page_token(page[-1].uscc, query) if more else "")


# --- updating ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Updated:
    enterprise: Enterprise
    # Fields that really changed; empty when the update asked for what was already there.
    changed: list[str]


def _stale_etag(name: str, sent: str) -> IntegrityError:
    return IntegrityError(
        f"{name} changed since etag {sent[:40]!r} was read; read it again and reapply the change",
        ABORTED_ETAG,
        ErrorKind.ABORTED,
        {"resource": name},
    )


def update_enterprise(
    uow: EnterprisesUoW,
    change: EnterpriseChange,
    principal: Principal | None = None,
    *,
    now: datetime | None = None,
    today: date | None = None,
) -> Updated:
    """Applies `change` if its etag (when given) is current; stages EnterpriseUpdated and/or
    EnterpriseStatusChanged with the new state in the same transaction. No change, no event."""
    uscc = parse_enterprise_name(change.name, "enterprise.name")
    fields = resolve_mask(change)
    name = enterprise_name(uscc)
    with uow:
        current = uow.enterprises.get(uscc)
        if current is None:
            raise not_found(name)
        if change.etag and change.etag != current.etag:
            raise _stale_etag(name, change.etag)
        updated, changed = apply_change(current, change, fields, now or utcnow(), today or china_today())
        if not changed:
            return Updated(current, [])
        # The etag is checked again by the write itself: a concurrent update since our read loses nothing.
        if not uow.enterprises.replace(updated, current.etag):
            raise _stale_etag(name, change.etag or current.etag)
        message = to_proto(updated)
        payloads: list[events_pb2.EnterpriseUpdated | events_pb2.EnterpriseStatusChanged] = []
        if details := [f for f in changed if f != "status"]:
            payloads.append(events_pb2.EnterpriseUpdated(enterprise=message, changed_fields=details))
        if "status" in changed:
            status_changed = events_pb2.EnterpriseStatusChanged(
                enterprise=message,
                previous_status=current.status,  # type: ignore[arg-type]
            )
            payloads.append(status_changed)
        event_ids = [stage(uow, uscc, payload, updated.update_time).id for payload in payloads]
        uow.commit()
    audit("UpdateEnterprise", name, principal, "enterprise updated", changed=changed, event_ids=event_ids)
    return Updated(updated, changed)
