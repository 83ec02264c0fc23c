"""Translation between the wire messages of integrity.enterprises.v1 and the domain model."""

from __future__ import annotations

from integrity.enterprises.v1 import enterprises_pb2
from services.enterprises.domain import Enterprise, EnterpriseDraft


def draft_from_proto(message: enterprises_pb2.Enterprise) -> EnterpriseDraft:
    """The caller's fields; output-only ones (name, status, times, etag) are ignored (AIP-203)."""
    return EnterpriseDraft(
        uscc=message.uscc,
        display_name=message.display_name,
        region_code=message.region_code,
        industry_code=message.industry_code,
        subject_type=message.subject_type,
        size_class=message.size_class,
        registered_date=message.registered_date,
    )


def to_proto(enterprise: Enterprise) -> enterprises_pb2.Enterprise:
    message = enterprises_pb2.Enterprise(
        name=enterprise.name,
        uscc=enterprise.uscc,
        display_name=enterprise.display_name,
        region_code=enterprise.region_code,
        industry_code=enterprise.industry_code,
        subject_type=enterprise.subject_type,  # type: ignore[arg-type]
        size_class=enterprise.size_class,  # type: ignore[arg-type]
        registered_date=enterprise.registered_date.isoformat() if enterprise.registered_date else "",
        status=enterprise.status,  # type: ignore[arg-type]
        etag=enterprise.etag,
    )
    message.create_time.FromDatetime(enterprise.create_time)
    message.update_time.FromDatetime(enterprise.update_time)
    return message
