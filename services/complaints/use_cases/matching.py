"""Matching complaints to registered enterprises, from the service's own copy of the enterprises topic.

A complaint names a USCC. When the registry has announced the enterprise (EnterpriseRegistered, -Updated
or -StatusChanged), intake files the complaint MATCHED in the enterprise's registered region; otherwise
UNMATCHED in the division that issued the USCC, until the registration arrives: then each waiting
complaint is matched, moves to the registered region and a ComplaintMatched event says so. When the
registry moves an enterprise to another region, its complaints follow. No synchronous call to the
enterprises service: its events feed the copy.

Intake and matching hold the same row of the copy (`registry.hold`), so a complaint filed while the
registration is being matched is either seen by the matching or sees the registration itself.
"""

from __future__ import annotations

from datetime import datetime

from services.complaints.adapters import mapping
from services.complaints.domain import complaint as lifecycle
from services.complaints.domain.complaint import MATCHED, Complaint
from services.complaints.manifest import TOPIC
from services.complaints.use_cases.audit import audit
from services.complaints.use_cases.unit_of_work import ComplaintsUoW
from shared.auth import Principal, Role
from shared.events import new_event, utcnow

# Who matched a complaint, in the audit trail.
MATCHER = Principal("complaints/registry-copy", Role.SYSTEM)
# A complaint changed by a regulator between reading and saving is read again, this often at most.
_ATTEMPTS = 5


def record_registration(
    uow: ComplaintsUoW, uscc: str, region_code: str, occurred_at: datetime, *, now: datetime | None = None
) -> list[Complaint]:
    """The registry announced `uscc` in `region_code` (at `occurred_at`): waiting complaints are matched
    and matched ones follow a change of region. Runs in the consumer's open unit of work; never commits.
    Returns the complaints matched now."""
    now = now or utcnow()
    previous = uow.registry.record(uscc, region_code)
    if previous is not None and previous != region_code:
        uow.complaints.move_region(uscc, region_code)
    matched = []
    for waiting in uow.complaints.unmatched_of(uscc):
        if (done := _match(uow, waiting, region_code, now)) is None:
            continue
        # Matched when the registration happened, or when the complaint came if it came later.
        moment = max(occurred_at, done.create_time)
        event = new_event(mapping.EVENT_SOURCE, uscc, mapping.matched_event(done), occurred_at=moment)
        uow.add_event(TOPIC, event)
        audit("MatchComplaint", done, MATCHER, region_code=region_code, event_id=event.id)
        matched.append(done)
    return matched


def _match(uow: ComplaintsUoW, complaint: Complaint, region_code: str, now: datetime) -> Complaint | None:
    """The complaint matched and saved; None when it turned out matched already."""
    current: Complaint | None = complaint
    for _ in range(_ATTEMPTS):
        if current is None or current.match_status == MATCHED:
            return None
        changed = lifecycle.match(current, region_code, now)
        if uow.complaints.save(changed, current.etag):
            return changed
        current = uow.complaints.get(complaint.id)  # a regulator acted on it meanwhile: read it again
    raise RuntimeError(f"{complaint.name} kept changing while it was being matched; the batch is retried")
