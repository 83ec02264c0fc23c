"""The audit trail of what callers did to inspectors, plans and inspections (logger `integrity.audit`)."""

from __future__ import annotations

import logging

from shared.auth import Principal

audit_log = logging.getLogger("integrity.audit")


def audit(action: str, resource: str, principal: Principal, **extra: object) -> None:
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
