"""Method-level access policy: which roles may call which RPC. Unknown methods are denied.

Finer checks (a regulator's region, an enterprise seeing only itself) happen in the servicers, e.g. with
`shared.auth.require_enterprise_read`.
"""

from __future__ import annotations

from shared.auth import Principal, Role
from shared.errors import permission_denied, unauthenticated

SYSTEM, REGULATOR, INSPECTOR, ENTERPRISE, PUBLIC = (
    Role.SYSTEM,
    Role.REGULATOR,
    Role.INSPECTOR,
    Role.ENTERPRISE,
    Role.PUBLIC,
)

# service -> method -> roles allowed to call it.
_POLICY: dict[str, dict[str, tuple[Role, ...]]] = {
    "integrity.enterprises.v1.EnterpriseService": {
        "CreateEnterprise":     (SYSTEM,),
        "GetEnterprise":        (SYSTEM, REGULATOR, INSPECTOR, ENTERPRISE),
        "ListEnterprises":      (SYSTEM, REGULATOR, INSPECTOR),
        "UpdateEnterprise":     (SYSTEM,),
        "CreateInstrument":     (SYSTEM, ENTERPRISE),
        "ListInstruments":      (SYSTEM, REGULATOR, INSPECTOR, ENTERPRISE),
        "RecordVerification":   (SYSTEM,),
        "BatchRecordVerifications": (SYSTEM,),
        "CreateCommitment":     (ENTERPRISE,),
        "WithdrawCommitment":   (ENTERPRISE,),
        "DeclareCapability":    (ENTERPRISE,),
        # Public: anyone may check the code on a shop-front sign, with or without a token.
        "LookupPublicCode":     (SYSTEM, REGULATOR, INSPECTOR, ENTERPRISE, PUBLIC),
    },
    "integrity.complaints.v1.ComplaintService": {
        # Filing needs no token (the public, anonymous allowed); the receipt code is the filer's key.
        "CreateComplaint":      (SYSTEM, PUBLIC),
        "GetComplaintByReceipt": (SYSTEM, REGULATOR, INSPECTOR, ENTERPRISE, PUBLIC),
        # Regulators: their region; enterprises: decided complaints against themselves; system: its own.
        "GetComplaint":         (SYSTEM, REGULATOR, ENTERPRISE),
        "ListComplaints":       (SYSTEM, REGULATOR, ENTERPRISE),
        "ListOverdueComplaints": (REGULATOR,),
        "AcceptComplaint":      (REGULATOR,),
        "RejectComplaint":      (REGULATOR,),
        "InvestigateComplaint": (REGULATOR,),
        "ResolveComplaint":     (REGULATOR,),
        "CloseComplaint":       (REGULATOR,),
    },
    "integrity.inspections.v1.InspectionService": {
        "CreateInspector":      (SYSTEM, REGULATOR),
        "UpdateInspector":      (SYSTEM, REGULATOR),
        "ListInspectors":       (SYSTEM, REGULATOR),
        "CreateInspectionPlan": (REGULATOR,),
        "GetInspectionPlan":    (SYSTEM, REGULATOR, INSPECTOR),
        # Only an inspector assigned to the inspection (checked in the service).
        "CompleteInspection":   (INSPECTOR,),
        "CompleteRectification": (INSPECTOR,),
        # 一公开: anyone, with or without a token; never personal data.
        "ListPublishedResults": (SYSTEM, REGULATOR, INSPECTOR, ENTERPRISE, PUBLIC),
    },
    "integrity.scoring.v1.ScoringService": {
        "GetGrade":             (SYSTEM, REGULATOR, INSPECTOR, ENTERPRISE),
        "ListRiskEntries":      (SYSTEM, REGULATOR, INSPECTOR),
        "CreateCreditRepair":   (REGULATOR,),
        "CreateAppeal":         (ENTERPRISE,),
        "GetAppeal":            (SYSTEM, REGULATOR, ENTERPRISE),
        "AcceptAppeal":         (REGULATOR,),
        "RejectAppeal":         (REGULATOR,),
    },
}  # fmt: skip

METHOD_ROLES: dict[str, frozenset[Role]] = {
    f"/{service}/{method}": frozenset(roles)
    for service, methods in _POLICY.items()
    for method, roles in methods.items()
}

# Infrastructure every client may use without a token: health checks (probes) and reflection (`buf curl`).
PUBLIC_SERVICES = frozenset(
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    }
)


def is_public_method(method: str) -> bool:
    """True for `/grpc.health.v1.Health/Check` and the like, which skip authentication entirely."""
    return method.lstrip("/").split("/", 1)[0] in PUBLIC_SERVICES


def _token_hint(roles: frozenset[Role]) -> str:
    role = next((r for r in (REGULATOR, SYSTEM, INSPECTOR, ENTERPRISE) if r in roles), SYSTEM)
    scope = {REGULATOR: " --region <code>", ENTERPRISE: " --uscc <uscc>"}.get(role, "")
    return f"`integrity token --role {role}{scope}`"


def authorize(method: str, principal: Principal) -> None:
    """Raises unless `principal` may call `method` (full name, e.g. `/pkg.Service/Method`)."""
    roles = METHOD_ROLES.get(method)
    if roles is None:
        raise permission_denied(
            f"{method} is not in the access policy, so nobody may call it", "UNKNOWN_METHOD"
        )
    if principal.role in roles:
        return
    allowed = ", ".join(sorted(roles))
    if principal.role == PUBLIC:
        raise unauthenticated(
            f"missing bearer token: {method} needs role {allowed}; get one with {_token_hint(roles)}",
            "MISSING_TOKEN",
        )
    raise permission_denied(
        f"role {principal.role} may not call {method} (allowed: {allowed})", "ROLE_NOT_ALLOWED"
    )
