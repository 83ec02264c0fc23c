"""What the registry's use cases share: staging an event, the audit line, the original of a repeat."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from google.protobuf.message import Message

from services.enterprises.manifest import TOPIC
from services.enterprises.use_cases.unit_of_work import EnterprisesUoW
from shared.auth import Principal
from shared.events import Event, new_event
from shared.idempotency import repeat_of

T = TypeVar("T")
EVENT_SOURCE = "//integrity/enterprises"
audit_log = logging.getLogger("integrity.audit")


def stage(uow: EnterprisesUoW, uscc: str, payload: Message, occurred_at: datetime) -> Event:
    """Stages the registry's event about enterprise `uscc`; it is published once the unit of work commits."""
    event = new_event(EVENT_SOURCE, uscc, payload, occurred_at=occurred_at)
    uow.add_event(TOPIC, event)
    return event


def audit(
    action: str, resource: str, principal: Principal | None, message: str = "", **extra: object
) -> None:
    """The audit line of a change: what was done to which resource, by whom (None: the system itself)."""
    who = {
        "subject": principal.subject if principal else None,
        "role": principal.role.value if principal else None,
    }
    audit_log.info(message or action, extra={"action": action, "resource": resource, **who, **extra})


def original_of(
    request_key: str | None, find: Callable[[str], T | None], same: Callable[[T], bool], resource: str
) -> T | None:
    """What the first request with this request id created, when this request repeats it (AIP-155); None
    for a new request or one without a request id. ALREADY_EXISTS when the id was used for something else."""
    return None if request_key is None else repeat_of(find(request_key), same, request_key, resource)
