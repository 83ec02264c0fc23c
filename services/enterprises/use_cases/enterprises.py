"""Use cases of the enterprise registry. Each runs in one unit of work; errors are shared.errors."""

from __future__ import annotations

import logging
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
    Registration,
    apply_change,
    china_today,
    enterprise_name,
    parse_enterprise_name,
    register,
    resolve_mask,
    validate_registration,
)
from services.enterprises.manifest import TOPIC
from services.enterprises.use_cases import queries
from services.enterprises.use_cases.unit_of_work import EnterprisesUoW
from shared.auth import REGIONAL_ROLES, Principal, Role, require_enterprise_read
from shared.errors import (
    ErrorKind,
    IntegrityError,
    StorageConflict,
    already_exists,
    not_found,
    permission_denied,
)
from shared.events import new_event, utcnow
from shared.idempotency import normalize_request_id
from shared.regions import region_contains

EVENT_SOURCE = "//integrity/enterprises"
audit_log = logging.getLogger("integrity.audit")


@dataclass(frozen=True)
class Created:
    enterprise: Enterprise
    # False when a repeated request_id returned the enterprise its first request created.
    created: bool


def _existing_for(
    uow: EnterprisesUoW, registration: Registration, request_id: str | None
) -> Enterprise | None:
    """The original of a repeated request, or None when this is new; ALREADY_EXISTS for conflicts."""
    if request_id is not None and (original := uow.enterprises.get_by_request_id(request_id)) is not None:
        if original.registration == registration:
            return original
        raise IntegrityError(
            f"request_id {request_id} was already used to register {original.name} with different fields; "
            "use a new request_id for a different registration",
            "REQUEST_ID_REUSED",
            ErrorKind.ALREADY_EXISTS,
            {"resource": original.name, "request_id": request_id},
        )
    if uow.enterprises.get(registration.uscc) is not None:
        raise already_exists(
            enterprise_name(registration.uscc),
            "it was registered before; to retry a create safely, repeat it with the same request_id",
        )
    return None


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
            original = _existing_for(uow, registration, key)
            if original is not None:
                return Created(original, created=False)
            enterprise = register(registration, now or utcnow(), key)
            uow.enterprises.add(enterprise)
            event = new_event(
                EVENT_SOURCE,
                enterprise.uscc,
                events_pb2.EnterpriseRegistered(enterprise=to_proto(enterprise)),
                occurred_at=enterprise.create_time,
            )
            uow.add_event(TOPIC, event)
            try:
                uow.commit()
            except StorageConflict:
                if attempt == 0:
                    continue
                raise already_exists(enterprise_name(registration.uscc)) from None
        audit_log.info(
            "enterprise registered",
            extra={
                "action": "CreateEnterprise",
                "resource": enterprise.name,
                "subject": principal.subject if principal else None,
                "role": principal.role.value if principal else None,
                "event_id": event.id,
            },
        )
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
        if not principal.region:
            raise permission_denied(f"{principal.role} token carries no region, so it may list nothing")
        if query.region_code is None:
            return query.within(principal.region)
        if not region_contains(principal.region, query.region_code):
            raise permission_denied(
                f"{principal.role} for region {principal.region} may not list region {query.region_code}; "
                f"filter on {principal.region} or a region inside it",
                "OUTSIDE_REGION",
            )
        return query
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
        event_ids = []
        details = [f for f in changed if f != "status"]
        if details:
            payload = events_pb2.EnterpriseUpdated(enterprise=message, changed_fields=details)
            event = new_event(EVENT_SOURCE, uscc, payload, occurred_at=updated.update_time)
            uow.add_event(TOPIC, event)
            event_ids.append(event.id)
        if "status" in changed:
            payload = events_pb2.EnterpriseStatusChanged(
                enterprise=message,
                previous_status=current.status,  # type: ignore[arg-type]
            )
            event = new_event(EVENT_SOURCE, uscc, payload, occurred_at=updated.update_time)
            uow.add_event(TOPIC, event)
            event_ids.append(event.id)
        uow.commit()
    audit_log.info(
        "enterprise updated",
        extra={
            "action": "UpdateEnterprise",
            "resource": name,
            "changed": changed,
            "subject": principal.subject if principal else None,
            "role": principal.role.value if principal else None,
            "event_ids": event_ids,
        },
    )
    return Updated(updated, changed)
