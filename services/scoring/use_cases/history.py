"""Importing the decisions on grades from a history (`integrity import`), by the rules of the API.

Scoring's own events carry the regulators' and the national credit system's decisions with who, when
(the event's time) and why: appeals (filed, accepted as GradeOverridden, rejected, their overrides
reviewed), credit repairs and the enterprises' applications, and serious-dishonesty listings. An import
rebuilds the records the API reads (GetAppeal, ListAppeals, ...) as they were decided, and ingests the
events that grading reads into the enterprise's history, so an exported stack imported into an empty one
reproduces every grade, overrides included. Grades themselves (GradeChanged) are never imported: they are
recomputed.

Each event is checked in the words of the API for the same mistake, and against the records: an
acceptance needs its appeal filed earlier (in the file, or before), a review an accepted appeal, a removal
an active listing. Whether a repaired rule was in force is not checked here: the history it rests on
reaches scoring through the source topics, after the import. Every check comes before anything is
written, so a refused event leaves the transaction as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from integrity.events.v1 import events_pb2
from services.scoring.adapters.mapping import level_of_proto, review_action_of_proto
from services.scoring.domain import appeals as appeal_rules
from services.scoring.domain.appeals import PENDING, Appeal, check_review, override_expiry, require_reason
from services.scoring.domain.dishonesty import DishonestyListing, check_listing, check_removal
from services.scoring.domain.names import appeal_of, application_of, credit_repair_of, listing_of
from services.scoring.domain.policy import Policy
from services.scoring.domain.repairs import (
    PENDING as APPLICATION_PENDING,
)
from services.scoring.domain.repairs import (
    CreditRepair,
    RepairApplication,
    check_application,
    repairable_rule,
)
from services.scoring.use_cases.ingest import ingest
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.errors import FieldViolation, already_exists, failed_precondition, invalid_argument, not_found
from shared.events import Event, utcnow
from shared.history_import import ImportOutcome, stage_events


def stage_imported(
    uow: ScoringUoW, policy: Policy, events: Sequence[Event], topic: str, *, now: datetime | None = None
) -> list[ImportOutcome]:
    """Each event's outcome, in order: checked, written to the decision records and (for what grading
    reads) ingested in the open unit of work `uow`, and staged in its outbox under `topic` when accepted.
    The caller commits, or rolls back for a dry run."""
    batch = _Batch(uow, policy, now or utcnow())
    return stage_events(uow, events, topic, batch.apply)


def _when(event: Event) -> datetime:
    return event.occurred_at.ToDatetime(tzinfo=UTC)


def _required(field: str, value: str) -> None:
    if not value.strip():
        raise invalid_argument([FieldViolation(field, "is required: who decided")])


class _Batch:
    def __init__(self, uow: ScoringUoW, policy: Policy, now: datetime) -> None:
        self.uow = uow
        self.policy = policy
        self.now = now
        self._apply: dict[str, Callable[[Event, Any], None]] = {
            "appeal_filed": self._appeal_filed,
            "grade_overridden": self._grade_overridden,
            "appeal_rejected": self._appeal_rejected,
            "override_reviewed": self._override_reviewed,
            "credit_repair_applied": self._repair_applied,
            "credit_repair_granted": self._repair_granted,
            "credit_repair_refused": self._repair_refused,
            "dishonesty_listed": self._listed,
            "dishonesty_removed": self._removed,
        }

    def apply(self, event: Event) -> None:
        """Checks `event` and records it; IntegrityError, with nothing written, if refused."""
        kind = event.WhichOneof("payload")
        assert kind in self._apply  # the manifest routes only these here
        self._apply[kind](event, getattr(event, kind))

    # --- appeals ----------------------------------------------------------------------------------------

    def _appeal_filed(self, event: Event, payload: events_pb2.AppealFiled) -> None:
        appeal_id = self._id(event, appeal_of, payload.appeal, "appeal")
        require_reason(payload.reason, "reason")
        level = level_of_proto(payload.appealed_level)
        if level is None:
            raise invalid_argument([FieldViolation("appealed_level", "is required: GRADE_LEVEL_A ... _D")])
        _required("filed_by", payload.filed_by)
        if self.uow.appeals.get(appeal_id) is not None:
            raise already_exists(payload.appeal)
        self.uow.appeals.add(
            Appeal(
                appeal_id, event.subject, payload.reason, PENDING, level, payload.filed_by, "", _when(event)
            )
        )

    def _grade_overridden(self, event: Event, payload: events_pb2.GradeOverridden) -> None:
        appeal = self._appeal(event, payload.appeal)
        expire_at = _when_set(payload, "expire_time")
        level = level_of_proto(payload.level)
        override_expiry(self.policy, level, expire_at or _when(event), payload.reason, _when(event))
        _required("decided_by", payload.decided_by)
        assert level is not None and expire_at is not None  # override_expiry requires them
        accepted = appeal.accepted(
            level, expire_at, payload.reason, payload.decided_by, _when(event), event.id
        )
        self._ingest(event)
        self.uow.appeals.save(accepted, appeal.state)

    def _appeal_rejected(self, event: Event, payload: events_pb2.AppealRejected) -> None:
        appeal = self._appeal(event, payload.appeal)
        _required("decided_by", payload.decided_by)
        self.uow.appeals.save(appeal.rejected(payload.reason, payload.decided_by, _when(event)), appeal.state)

    def _override_reviewed(self, event: Event, payload: events_pb2.OverrideReviewed) -> None:
        appeal = self._appeal(event, payload.appeal)
        action = review_action_of_proto(payload.action)
        expire_at = _when_set(payload, "expire_time")
        shortened = expire_at if action == appeal_rules.SHORTEN else None
        review = check_review(appeal, action, shortened, payload.reason, payload.reviewed_by, _when(event))
        _required("reviewed_by", payload.reviewed_by)
        if expire_at != review.expire_at:
            raise invalid_argument(
                [FieldViolation("expire_time", f"must be {review.expire_at.isoformat()} for {action}")]
            )
        review = replace(review, event_id=event.id)
        self._ingest(event)
        self.uow.appeals.save(appeal.reviewed(review), appeal.state)
        self.uow.appeals.add_review(appeal.id, review)

    def _appeal(self, event: Event, name: str) -> Appeal:
        appeal_id = self._id(event, appeal_of, name, "appeal")
        appeal = self.uow.appeals.get(appeal_id)
        if appeal is None:
            raise not_found(f"{name} (its AppealFiled must come earlier)")
        return appeal

    # --- credit repairs ---------------------------------------------------------------------------------

    def _repair_applied(self, event: Event, payload: events_pb2.CreditRepairApplied) -> None:
        application_id = self._id(event, application_of, payload.application, "application")
        check_application(
            self.policy, payload.rule_code, payload.commitment_letter, payload.rectification_statement
        )
        _required("applied_by", payload.applied_by)
        if self.uow.applications.get(application_id) is not None:
            raise already_exists(payload.application)
        self.uow.applications.add(
            RepairApplication(
                application_id,
                event.subject,
                payload.rule_code,
                payload.commitment_letter,
                payload.rectification_statement,
                APPLICATION_PENDING,
                payload.applied_by,
                "",
                _when(event),
                event.id,
            )
        )

    def _repair_granted(self, event: Event, payload: events_pb2.CreditRepairGranted) -> None:
        repair_id = self._id(event, credit_repair_of, payload.credit_repair, "credit_repair")
        repairable_rule(self.policy, payload.rule_code, payload.reason, prefix="")
        _required("decided_by", payload.decided_by)
        if self.uow.repairs.get(repair_id) is not None:
            raise already_exists(payload.credit_repair)
        repair = CreditRepair(
            repair_id,
            event.subject,
            payload.rule_code,
            payload.reason,
            payload.decided_by,
            "",
            _when(event),
            event.id,
        )
        granted = None
        if payload.application:
            application = self._application(event, payload.application)
            if application.rule_code != payload.rule_code:
                raise invalid_argument(
                    [
                        FieldViolation(
                            "rule_code", f"must be {application.rule_code}, the rule of {application.name}"
                        )
                    ]
                )
            granted = application.granted(repair)
        self._ingest(event)
        self.uow.repairs.add(repair)
        if granted is not None:
            self.uow.applications.save(granted, application.state)

    def _repair_refused(self, event: Event, payload: events_pb2.CreditRepairRefused) -> None:
        application = self._application(event, payload.application)
        _required("decided_by", payload.decided_by)
        self.uow.applications.save(
            application.refused(payload.reason, payload.decided_by, _when(event)), application.state
        )

    def _application(self, event: Event, name: str) -> RepairApplication:
        application_id = self._id(event, application_of, name, "application")
        application = self.uow.applications.get(application_id)
        if application is None:
            raise not_found(f"{name} (its CreditRepairApplied must come earlier)")
        return application

    # --- the serious-dishonesty list --------------------------------------------------------------------

    def _listed(self, event: Event, payload: events_pb2.DishonestyListed) -> None:
        listing_id = self._id(event, listing_of, payload.listing, "listing")
        listed_at = _when(event)
        check_listing(payload.reason, payload.decision_reference, payload.authority, listed_at, self.now)
        _required("listed_by", payload.listed_by)
        if self.uow.listings.get(listing_id) is not None:
            raise already_exists(payload.listing)
        active = self.uow.listings.active_of(event.subject)
        if active is not None:
            raise failed_precondition(
                f"enterprise {event.subject} is listed already ({active.name}); its DishonestyRemoved must "
                "come first",
                "ALREADY_LISTED",
            )
        self._ingest(event)
        self.uow.listings.add(
            DishonestyListing(
                listing_id,
                event.subject,
                payload.reason,
                payload.decision_reference,
                payload.authority,
                listed_at,
                payload.listed_by,
                "",
                event.id,
            )
        )

    def _removed(self, event: Event, payload: events_pb2.DishonestyRemoved) -> None:
        listing_id = self._id(event, listing_of, payload.listing, "listing")
        listing = self.uow.listings.get(listing_id)
        if listing is None:
            raise not_found(f"{payload.listing} (its DishonestyListed must come earlier)")
        check_removal(listing, payload.reason, _when(event), self.now)
        _required("removed_by", payload.removed_by)
        self._ingest(event)
        self.uow.listings.save(listing.removed(payload.reason, payload.removed_by, _when(event), event.id))

    # --- shared -----------------------------------------------------------------------------------------

    @staticmethod
    def _id(event: Event, parse: Callable[[str, str], tuple[str, str]], name: str, field: str) -> str:
        """The id in a decision's resource name, which must name the event's subject."""
        uscc, record_id = parse(name, field)
        if uscc != event.subject:
            raise invalid_argument(
                [FieldViolation(field, f"names {uscc} but the event subject is {event.subject}")]
            )
        return record_id

    def _ingest(self, event: Event) -> None:
        """Into the enterprise's history: it is regraded now if scoring knows it, else once its registration
        arrives (the whole history is replayed then)."""
        ingest(self.uow, self.policy, event)


def _when_set(payload: Any, field: str) -> datetime | None:
    return getattr(payload, field).ToDatetime(tzinfo=UTC) if payload.HasField(field) else None
