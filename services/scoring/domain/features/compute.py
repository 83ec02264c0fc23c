"""Computing the features of one enterprise from its event history, as of a date. Pure Python.

`compute_features(history, as_of)` folds the events that occurred strictly before `as_of`, in time order,
into the values the catalogue (`catalogue.py`) defines; a Timeline sorts and converts a history once, so
a replay that computes features at every event time does not redo it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime

from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2
from services.scoring.domain.features.catalogue import (
    COMPLAINT_HALF_LIFE_DAYS,
    INSPECTION_HALF_LIFE_DAYS,
    LATE_VERIFICATION_WINDOW_DAYS,
    SEVERITY_WEIGHT,
    UNSUBSTANTIATED_CAP,
    UNSUBSTANTIATED_WINDOW_DAYS,
    Features,
)
from shared.enums import enum_name

_Outcome = inspections_pb2.InspectionOutcome


def occurred_at(event: events_pb2.Event) -> datetime:
    return event.occurred_at.ToDatetime(tzinfo=UTC)


class Timeline:
    """An enterprise's events in time order (event id as tie-breaker), each time converted once: a
    replay computes features at every event time, and re-sorting and re-converting the history each
    time cost more than the features themselves."""

    def __init__(self, history: Iterable[events_pb2.Event]) -> None:
        timed = [(occurred_at(event), event) for event in history]
        # Time order, event id as tie-breaker: the same events in any arrival order give the same features.
        timed.sort(key=lambda pair: (pair[0], pair[1].id))
        self.entries: list[tuple[datetime, events_pb2.Event]] = timed

    def times(self) -> list[datetime]:
        """The distinct event times, in order."""
        return sorted({moment for moment, _ in self.entries})


def compute_features(history: Iterable[events_pb2.Event] | Timeline, as_of: datetime) -> Features:
    """The features of one enterprise from its events that occurred strictly before `as_of`."""
    timeline = history if isinstance(history, Timeline) else Timeline(history)
    f = _Accumulator(as_of)
    for moment, event in timeline.entries:
        if moment >= as_of:
            break  # in time order: nothing later may count
        kind = event.WhichOneof("payload")
        handler = getattr(f, f"on_{kind}", None)
        if handler is not None:
            f.moment = moment
            handler(event, getattr(event, kind))
    return f.result()


def decay(age_days: float, half_life_days: float) -> float:
    return 0.5 ** (max(age_days, 0.0) / half_life_days)


class _Accumulator:
    """Folds a time-ordered history into feature values."""

    def __init__(self, as_of: datetime) -> None:
        self.as_of = as_of
        self.profile: enterprises_pb2.Enterprise | None = None
        self.substantiated = 0.0
        self.filed_recently: set[str] = set()  # complaint names, repeats folded into their original
        self.substantiated_names: set[str] = set()
        # Instrument name -> (retired, latest verification failed, next due date "YYYY-MM-DD").
        self.registry: dict[str, tuple[bool, bool, str]] = {}
        self.verifications_recent = 0  # passing verifications in the window with a known previous due date
        self.verifications_late = 0  # of those, done after that due date
        self.compliant = 0.0
        self.severity = 0.0
        self.serious_severity = 0.0  # the part of `severity` from serious violations, lifted by repair
        self.inspected_count = 0
        self.last_inspection: datetime | None = None
        self.instruments: tuple[int, int] | None = None  # (checked, overdue + failed) of the latest check
        self.net_content: float | None = None
        self.overdue_rectifications: set[str] = set()
        self.commitments: dict[str, str] = {}  # commitment name -> valid_until ("" when open-ended)
        self.commitment_breached = False
        self.capability = 0  # 0 none, 1 declared, 2 certified or confirmed on site
        self.last_serious: datetime | None = None
        self.last_refused: datetime | None = None
        self.last_false_capability: datetime | None = None
        self.override: tuple[int, datetime, str] | None = None  # (level, until, the appeal that set it)
        self.listings: dict[str, datetime] = {}  # active serious-dishonesty listings -> effective time
        self.moment = as_of  # when the event being folded in occurred (set before each handler)

    def age_days(self, moment: datetime) -> float:
        return (self.as_of - moment).total_seconds() / 86400.0

    # -- enterprises ---------------------------------------------------------------------------------

    def on_enterprise_registered(self, event: events_pb2.Event, payload: object) -> None:
        self.profile = payload.enterprise  # type: ignore[attr-defined]

    def on_enterprise_updated(self, event: events_pb2.Event, payload: object) -> None:
        if hasattr(payload, "enterprise") and payload.HasField("enterprise"):  # type: ignore[attr-defined]
            self.profile = payload.enterprise  # type: ignore[attr-defined]

    on_enterprise_status_changed = on_enterprise_updated

    def active_commitment(self, moment: datetime) -> bool:
        day = moment.date().isoformat()
        return any(not until or day < until for until in self.commitments.values())

    def on_commitment_declared(self, event: events_pb2.Event, payload: events_pb2.CommitmentDeclared) -> None:
        self.commitments[payload.commitment.name] = payload.commitment.valid_until

    def on_commitment_withdrawn(
        self, event: events_pb2.Event, payload: events_pb2.CommitmentWithdrawn
    ) -> None:
        self.commitments.pop(payload.commitment.name, None)

    def on_capability_declared(self, event: events_pb2.Event, payload: events_pb2.CapabilityDeclared) -> None:
        certified = bool(payload.declaration.iso10012_certificate_number)
        self.capability = max(self.capability, 2 if certified else 1)

    # -- complaints ----------------------------------------------------------------------------------

    def on_complaint_filed(self, event: events_pb2.Event, payload: events_pb2.ComplaintFiled) -> None:
        if self.age_days(self.moment) <= UNSUBSTANTIATED_WINDOW_DAYS:
            self.filed_recently.add(payload.duplicate_of or payload.complaint)

    def on_complaint_resolved(self, event: events_pb2.Event, payload: events_pb2.ComplaintResolved) -> None:
        name = payload.duplicate_of or payload.complaint
        if not payload.substantiated or name in self.substantiated_names:
            return  # only substantiated complaints are evidence, and a repeat only once
        self.substantiated_names.add(name)
        self.substantiated += decay(self.age_days(self.moment), COMPLAINT_HALF_LIFE_DAYS)

    # -- instruments in the registry -----------------------------------------------------------------

    def on_instrument_registered(
        self, event: events_pb2.Event, payload: events_pb2.InstrumentRegistered
    ) -> None:
        instrument = payload.instrument
        retired = instrument.usage == enterprises_pb2.INSTRUMENT_USAGE_RETIRED
        verification = instrument.last_verification
        failed = verification.result == enterprises_pb2.VERIFICATION_RESULT_FAIL
        self.registry[instrument.name] = (retired, failed, verification.next_due_date)

    def on_verification_recorded(
        self, event: events_pb2.Event, payload: events_pb2.VerificationRecorded
    ) -> None:
        retired, _, previous_due = self.registry.get(payload.instrument, (False, False, ""))
        failed = payload.verification.result == enterprises_pb2.VERIFICATION_RESULT_FAIL
        if previous_due and not failed and self.age_days(self.moment) <= LATE_VERIFICATION_WINDOW_DAYS:
            self.verifications_recent += 1
            # ISO dates compare as strings; verified after the day it was due = late.
            self.verifications_late += payload.verification.verification_date > previous_due
        self.registry[payload.instrument] = (retired, failed, payload.verification.next_due_date)

    def registry_counts(self) -> tuple[int, int]:
        """(instruments in use, of which failed or past their due date) as of `as_of`."""
        today = self.as_of.date().isoformat()
        in_use = [(failed, due) for retired, failed, due in self.registry.values() if not retired]
        bad = sum(1 for failed, due in in_use if failed or (due and due < today))
        return len(in_use), bad

    # -- inspections ---------------------------------------------------------------------------------

    def on_inspection_completed(
        self, event: events_pb2.Event, payload: events_pb2.InspectionCompleted
    ) -> None:
        moment = self.moment
        weight = decay(self.age_days(moment), INSPECTION_HALF_LIFE_DAYS)
        self.inspected_count += 1
        self.last_inspection = moment
        summary = payload.summary
        outcome = payload.outcome
        if outcome == _Outcome.INSPECTION_OUTCOME_COMPLIANT and not summary.tampering_found:
            self.compliant += weight
        elif outcome in SEVERITY_WEIGHT:
            self.severity += SEVERITY_WEIGHT[outcome] * weight
            if self.active_commitment(moment):
                self.commitment_breached = True
        if outcome == _Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION or summary.tampering_found:
            self.last_serious = moment
            self.serious_severity += SEVERITY_WEIGHT.get(outcome, 0.0) * weight
        if summary.inspection_refused:
            self.last_refused = moment
        if summary.capability_declaration == events_pb2.CAPABILITY_DECLARATION_CHECK_FALSE:
            self.last_false_capability = moment
        elif summary.capability_declaration == events_pb2.CAPABILITY_DECLARATION_CHECK_CONFIRMED:
            self.capability = 2
        if summary.instruments_checked > 0:
            bad = min(summary.instruments_overdue + summary.instruments_failed, summary.instruments_checked)
            self.instruments = (summary.instruments_checked, bad)
        if summary.net_content_samples > 0:
            short = min(summary.net_content_short, summary.net_content_samples)
            self.net_content = short / summary.net_content_samples

    def on_rectification_overdue(
        self, event: events_pb2.Event, payload: events_pb2.RectificationOverdue
    ) -> None:
        self.overdue_rectifications.add(payload.inspection)

    def on_rectification_completed(
        self, event: events_pb2.Event, payload: events_pb2.RectificationCompleted
    ) -> None:
        self.overdue_rectifications.discard(payload.inspection)

    # -- credit repair -------------------------------------------------------------------------------

    def on_credit_repair_granted(
        self, event: events_pb2.Event, payload: events_pb2.CreditRepairGranted
    ) -> None:
        if payload.rule_code == "SERIOUS_VIOLATION":
            self.last_serious = None
            self.severity = max(self.severity - self.serious_severity, 0.0)
            self.serious_severity = 0.0
        elif payload.rule_code == "REFUSED_INSPECTION":
            self.last_refused = None
        elif payload.rule_code == "FALSE_CAPABILITY_DECLARATION":
            self.last_false_capability = None

    def on_grade_overridden(self, event: events_pb2.Event, payload: events_pb2.GradeOverridden) -> None:
        self.override = (int(payload.level), payload.expire_time.ToDatetime(tzinfo=UTC), payload.appeal)

    def on_override_reviewed(self, event: events_pb2.Event, payload: events_pb2.OverrideReviewed) -> None:
        if self.override is not None and self.override[2] == payload.appeal:  # a later override stands
            level, _, appeal = self.override
            self.override = (level, payload.expire_time.ToDatetime(tzinfo=UTC), appeal)

    # -- the serious-dishonesty list -----------------------------------------------------------------

    def on_dishonesty_listed(self, event: events_pb2.Event, payload: events_pb2.DishonestyListed) -> None:
        self.listings[payload.listing] = self.moment

    def on_dishonesty_removed(self, event: events_pb2.Event, payload: events_pb2.DishonestyRemoved) -> None:
        self.listings.pop(payload.listing, None)

    # -- result --------------------------------------------------------------------------------------

    def result(self) -> Features:
        profile = self.profile
        unsubstantiated = len(self.filed_recently - self.substantiated_names)
        registry_total, registry_bad = self.registry_counts()
        values: dict[str, float | str | None] = {
            "substantiated_complaints": self.substantiated,
            "unsubstantiated_complaints": float(min(unsubstantiated, UNSUBSTANTIATED_CAP)),
            "compliant_inspections": self.compliant,
            "violation_severity": self.severity,
            "days_since_last_inspection": (
                None if self.last_inspection is None else self.age_days(self.last_inspection)
            ),
            "instruments_bad_share": (
                None if self.instruments is None else self.instruments[1] / self.instruments[0]
            ),
            "registry_instruments_bad_share": registry_bad / registry_total if registry_total else None,
            "late_verification_share": (
                self.verifications_late / self.verifications_recent if self.verifications_recent else None
            ),
            "net_content_short_share": self.net_content,
            "open_rectification_overdue": float(len(self.overdue_rectifications)),
            "commitment_active": 1.0 if self.active_commitment(self.as_of) else 0.0,
            "commitment_breached": 1.0 if self.commitment_breached else 0.0,
            "capability_declaration": float(self.capability),
            "enterprise_age_years": _age_years(profile.registered_date, self.as_of) if profile else None,
            # A number from a newer registry is an unknown category (the scorecard's default points).
            "subject_type": enum_name(enterprises_pb2.SubjectType, profile.subject_type) if profile else None,
            "size_class": enum_name(enterprises_pb2.SizeClass, profile.size_class) if profile else None,
        }
        return Features(
            values=values,
            has_evidence=self.inspected_count > 0 or self.substantiated > 0,
            last_serious_violation=self.last_serious,
            last_refused_inspection=self.last_refused,
            last_false_capability=self.last_false_capability,
            dishonesty_listed_since=max(self.listings.values(), default=None),
            instruments_checked=self.instruments[0] if self.instruments else 0,
            instruments_bad=self.instruments[1] if self.instruments else 0,
            registry_instruments=registry_total,
            registry_instruments_bad=registry_bad,
            override_level=self.override[0] if self.override else None,
            override_until=self.override[1] if self.override else None,
        )


def _age_years(registered_date: str, as_of: datetime) -> float | None:
    try:
        registered = date.fromisoformat(registered_date)
    except ValueError:
        return None
    return max((as_of.date() - registered).days, 0) / 365.25
