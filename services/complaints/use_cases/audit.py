"""The audit trail of what callers did to complaints (logger `integrity.audit`)."""

from __future__ import annotations

import logging

from services.complaints.domain.complaint import Complaint
from shared.auth import Principal

audit_log = logging.getLogger("integrity.audit")


def audit(action: str, complaint: Complaint, principal: Principal, **extra: object) -> None:
    # Never the contact, the description or the complainant key.
    audit_log.info(
        f"complaint {action}",
        extra={
            "action": action,
            "resource": complaint.name,
            "enterprise": complaint.uscc,
            "subject": principal.subject,
            "role": str(principal.role),
            **extra,
        },
    )
