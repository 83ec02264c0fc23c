"""Use cases for enterprises' self-declarations and the public look-up of their codes."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from services.enterprises.adapters.mapping import capability_to_proto, commitment_to_proto
from services.enterprises.domain import declarations
from services.enterprises.domain.declarations import (
    CapabilityDeclaration,
    CapabilityDraft,
    Commitment,
    CommitmentDraft,
)
from services.enterprises.domain.enterprise import (
    Enterprise,
    enterprise_name,
    parse_enterprise_name,
    require_active,
)
from services.enterprises.domain.values import china_today
from services.enterprises.use_cases.common import audit, original_of, stage
from services.enterprises.use_cases.unit_of_work import EnterprisesUoW
from shared import pagination
from shared.auth import Principal, Role, require_enterprise_read
from shared.errors import (
    ErrorKind,
    IntegrityError,
    StorageConflict,
    concurrent_change,
    failed_precondition,
    not_found,
    permission_denied,
)
from shared.events import utcnow
from shared.idempotency import request_key


def _require_own(principal: Principal, uscc: str) -> None:
    """Self-declarations are made by the enterprise itself, for itself only."""
    if principal.role == Role.ENTERPRISE and principal.uscc == uscc:
        return
    raise permission_denied(
        f"only enterprise {uscc} itself may declare for it; {principal.role} {principal.subject!r} may not",
        "NOT_OWN_ENTERPRISE",
    )


def _new_declaration(uow: EnterprisesUoW, uscc: str, kind: str) -> tuple[str, str]:
    """The id and public code of a new declaration of enterprise `uscc`, once it is known that it may
    declare (it exists and is not deregistered)."""
    enterprise = uow.enterprises.get(uscc)
    if enterprise is None:
        raise not_found(enterprise_name(uscc))
    require_active(enterprise, "declare")
    return uuid.uuid4().hex[:16], public_code(uow, kind)


def public_code(uow: EnterprisesUoW, kind: str, printed: str = "", taken: Collection[str] = ()) -> str:
    """A public code of `kind` that no declaration has, nor is in `taken`: `printed` when it is one (a legacy
    system's code on a shop-front sign keeps working), else a new one."""

    def free(code: str) -> bool:
        return code not in taken and uow.declarations.by_public_code(code) is None

    code = declarations.code_of_kind(printed, kind)
    if code is not None and free(code):
        return code
    while True:  # 31^10 codes: a collision is astronomically rare, but never reuse one
        code = declarations.new_public_code(kind)
        if free(code):
            return code


def _commit(uow: EnterprisesUoW) -> None:
    try:
        uow.commit()
    except StorageConflict:
        raise IntegrityError(
            "a concurrent request took the same public code or request_id; repeat the request",
            "CONCURRENT_DECLARATION",
            ErrorKind.ABORTED,
        ) from None


def create_commitment(
    uow: EnterprisesUoW,
    parent: str,
    draft: CommitmentDraft,
    principal: Principal,
    request_id: str = "",
    *,
    now: datetime | None = None,
    today: date | None = None,
) -> tuple[Commitment, int]:
    """The new commitment and its state; stages CommitmentDeclared. A repeated request_id returns
    the commitment its first request declared."""
    uscc = parse_enterprise_name(parent, "parent")
    _require_own(principal, uscc)
    day = today or china_today()
    valid = declarations.validate_commitment(draft, day)
    key = request_key(request_id)
    with uow:
        original = original_of(
            key,
            uow.declarations.commitment_by_request_id,
            lambda found: declarations.same_commitment(found, uscc, valid),
            "commitment",
        )
        if original is not None:
            return original, declarations.commitment_state(original, day)
        commitment_id, code = _new_declaration(uow, uscc, declarations.COMMITMENT_CODE)
        commitment = declarations.new_commitment(uscc, valid, commitment_id, code, now or utcnow(), key)
        uow.declarations.add_commitment(commitment)
        state = declarations.commitment_state(commitment, day)
        payload = events_pb2.CommitmentDeclared(commitment=commitment_to_proto(commitment, state))
        event = stage(uow, uscc, payload, commitment.create_time)
        _commit(uow)
    audit("CreateCommitment", commitment.name, principal, event_id=event.id)
    return commitment, state


def withdraw_commitment(
    uow: EnterprisesUoW,
    name: str,
    principal: Principal,
    *,
    now: datetime | None = None,
    today: date | None = None,
) -> tuple[Commitment, int]:
    """Marks an own commitment withdrawn (it stays on record); stages CommitmentWithdrawn."""
    uscc, commitment_id = declarations.parse_commitment_name(name)
    _require_own(principal, uscc)
    day = today or china_today()
    with uow:
        commitment = uow.declarations.get_commitment(uscc, commitment_id)
        if commitment is None:
            raise not_found(name)
        # Withdrawn already is refused by `withdraw`; an expired one has nothing left to withdraw.
        if declarations.commitment_state(commitment, day) == enterprises_pb2.COMMITMENT_STATE_EXPIRED:
            raise failed_precondition(
                f"{name} expired on {commitment.valid_until}; nothing to withdraw", "EXPIRED"
            )
        moment = now or utcnow()
        withdrawn = declarations.withdraw(commitment, moment)
        if not uow.declarations.save_commitment(withdrawn):
            raise concurrent_change(name)
        state = declarations.commitment_state(withdrawn, day)
        payload = events_pb2.CommitmentWithdrawn(commitment=commitment_to_proto(withdrawn, state))
        event = stage(uow, uscc, payload, moment)
        _commit(uow)
    audit("WithdrawCommitment", name, principal, event_id=event.id)
    return withdrawn, state


def declare_capability(
    uow: EnterprisesUoW,
    parent: str,
    draft: CapabilityDraft,
    principal: Principal,
    request_id: str = "",
    *,
    now: datetime | None = None,
) -> CapabilityDeclaration:
    """Records a capability declaration (earlier ones stay on record); stages CapabilityDeclared.
    A repeated request_id returns the declaration its first request recorded."""
    uscc = parse_enterprise_name(parent, "parent")
    _require_own(principal, uscc)
    valid = declarations.validate_capability(draft)
    key = request_key(request_id)
    with uow:
        original = original_of(
            key,
            uow.declarations.capability_by_request_id,
            lambda found: declarations.same_capability(found, uscc, valid),
            "capability declaration",
        )
        if original is not None:
            return original
        declaration_id, code = _new_declaration(uow, uscc, declarations.CAPABILITY_CODE)
        declaration = declarations.new_capability(uscc, valid, declaration_id, code, now or utcnow(), key)
        uow.declarations.add_capability(declaration)
        payload = events_pb2.CapabilityDeclared(declaration=capability_to_proto(declaration))
        event = stage(uow, uscc, payload, declaration.declare_time)
        _commit(uow)
    audit("DeclareCapability", declaration.name, principal, event_id=event.id)
    return declaration


@dataclass(frozen=True)
class PublicRecord:
    enterprise: Enterprise
    declaration: Commitment | CapabilityDeclaration
    # The commitment's state today (0 for capability declarations).
    state: int


@dataclass(frozen=True)
class DeclarationPage:
    # Commitments with their state as of today, or capability declarations (state 0).
    declarations: list[tuple[Commitment | CapabilityDeclaration, int]]
    next_page_token: str


def list_declarations(
    uow: EnterprisesUoW,
    kind: str,
    parent: str,
    principal: Principal,
    *,
    page_size: int = 0,
    page_token: str = "",
    today: date | None = None,
) -> DeclarationPage:
    """A page of the enterprise's commitments (`kind` "commitments") or capability declarations, newest
    first; to whom the enterprise may be read (itself, the system, a regional role of its region)."""
    uscc = parse_enterprise_name(parent, "parent")
    size = pagination.page_size(page_size)
    query = pagination.fingerprint(f"{kind}:{uscc}")
    offset = pagination.decode_page_token(page_token, query) if page_token else 0
    if not isinstance(offset, int) or offset < 0:
        raise pagination.invalid_page_token()
    if principal.role in (Role.ENTERPRISE, Role.PUBLIC):
        require_enterprise_read(principal, uscc, None)  # before any lookup: existence does not leak
    with uow:
        enterprise = uow.enterprises.get(uscc)
        if enterprise is None:
            raise not_found(parent)
        require_enterprise_read(principal, uscc, enterprise.region_code)
        read = uow.declarations.commitments_of if kind == "commitments" else uow.declarations.capabilities_of
        found: list[Commitment | CapabilityDeclaration] = list(read(uscc, offset, size + 1))
    day = today or china_today()
    page = [
        (d, declarations.commitment_state(d, day) if isinstance(d, Commitment) else 0) for d in found[:size]
    ]
    token = pagination.encode_page_token(offset + size, query) if len(found) > size else ""
    return DeclarationPage(page, token)


def lookup_public_code(uow: EnterprisesUoW, code: str, *, today: date | None = None) -> PublicRecord:
    canonical = declarations.normalize_public_code(code)
    with uow:
        found = uow.declarations.by_public_code(canonical)
        enterprise = uow.enterprises.get(found.uscc) if found is not None else None
    if found is None or enterprise is None:
        raise IntegrityError(
            f"no commitment or declaration has the public code {canonical}",
            "NOT_FOUND",
            ErrorKind.NOT_FOUND,
            {"public_code": canonical},
        )
    state = (
        declarations.commitment_state(found, today or china_today()) if isinstance(found, Commitment) else 0
    )
    return PublicRecord(enterprise, found, state)
