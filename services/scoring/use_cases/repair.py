"""Credit repair (信用修复): a regulator of the enterprise's region lifts a hard rule once its evidence is
old enough. See domain/repairs.py.

The repair is ingested as a CreditRepairGranted event, which regrades the enterprise in the same
transaction; the same event is published on the scoring topic for other government systems.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from integrity.events.v1 import events_pb2
from services.scoring.domain.features import compute_features
from services.scoring.domain.grades import Grade
from services.scoring.domain.names import credit_repair_name, enterprise_name
from services.scoring.domain.policy import Policy
from services.scoring.domain.repairs import CreditRepair, repairable_rule, require_repairable
from services.scoring.manifest import TOPIC
from services.scoring.use_cases.access import require_access
from services.scoring.use_cases.ingest import SOURCE, ingest
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.auth import Principal
from shared.errors import not_found
from shared.events import new_event
from shared.idempotency import repeat_of, settled_after_conflict


@dataclass(frozen=True)
class GrantedRepair:
    repair: CreditRepair
    grade: Grade  # the enterprise's grade after the repair


def grant_credit_repair(
    uow: ScoringUoW,
    policy: Policy,
    principal: Principal,
    uscc: str,
    rule_code: str,
    reason: str,
    now: datetime,
    request_id: str = "",
) -> GrantedRepair:
    """Lifts `rule_code` for the enterprise as of `now`; raises INVALID_ARGUMENT, NOT_FOUND or
    FAILED_PRECONDITION (rule not in force, or its evidence too recent) and then changes nothing. A repeat
    with the same request id returns the repair the first one granted, also when both arrive at once (the
    database's unique index on the request id settles it: the loser is answered as the repeat)."""

    def attempt() -> GrantedRepair:
        with uow:
            require_access(uow, principal, uscc)  # only regulators may repair (method roles): of its region
            found = uow.repairs.by_request_id(uscc, request_id) if request_id else None
            asked = (rule_code, reason)
            if repeated := repeat_of(
                found, lambda r: (r.rule_code, r.reason) == asked, request_id, "credit repair"
            ):
                grade = uow.grades.get(uscc)
                assert grade is not None  # a repair is only granted to a graded enterprise
                return GrantedRepair(repeated, grade)

            rule = repairable_rule(policy, rule_code, reason)
            if uow.enterprises.get(uscc) is None or uow.grades.get(uscc) is None:
                raise not_found(enterprise_name(uscc))
            require_repairable(policy, rule, compute_features(uow.history.events(uscc), now), uscc, now)

            repair_id = str(uuid.uuid4())
            payload = events_pb2.CreditRepairGranted(
                credit_repair=credit_repair_name(uscc, repair_id),
                rule_code=rule_code,
                decided_by=principal.subject,
                reason=reason,
            )
            event = new_event(SOURCE, uscc, payload, occurred_at=now)
            # The repair joins the history like any source event and regrades the enterprise.
            ingest(uow, policy, event)
            uow.add_event(TOPIC, event)
            repair = CreditRepair(
                repair_id, uscc, rule_code, reason, principal.subject, request_id, now, event.id
            )
            uow.repairs.add(repair)
            grade = uow.grades.get(uscc)
            assert grade is not None
            uow.commit()
        return GrantedRepair(repair, grade)

    return settled_after_conflict(attempt, enterprise_name(uscc))
