"""The fold of an enterprise's history into the catalogue's features (`catalogue.py`). Pure Python.

`HistoryFold.add(moment, event)` takes events in time order; `features(as_of)` reads the state at any
time at or after the last event added, without changing what a later read gives. A handler per event
type (`on_<payload field>`), so a new event type is a new method.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime

from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2
from services.scoring.domain.features.catalogue import (
    COMPLAINT_HALF_LIFE_DAYS,
    COMPLIANT,
    FOLLOWUP_WINDOW_DAYS,
    GAP_BUCKETS,
    LATE_VERIFICATION_WINDOW_DAYS,
    MAJOR,
    MAJOR_SHARE_PRIOR,
    MINOR,
    NEVER,
    SERIOUS,
    SEVERITY_LETTER,
    UNSUBSTANTIATED_CAP,
    UNSUBSTANTIATED_WINDOW_DAYS,
    VIOLATION_SHARE_PRIOR,
    WORST_WINDOW_DAYS,
    Features,
)
from services.scoring.domain.features.decayed import Decayed
from services.scoring.domain.features.profile import age_years, profile_attributes

_Outcome = inspections_pb2.InspectionOutcome
_SEVERITY = {
    _Outcome.INSPECTION_OUTCOME_MINOR_VIOLATION: MINOR,
    _Outcome.INSPECTION_OUTCOME_MAJOR_VIOLATION: MAJOR,
    _Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION: SERIOUS,
}
_SECONDS_PER_DAY = 86400.0


def severity_of(payload: events_pb2.InspectionCompleted) -> int:
    """0 compliant .. 3 serious; tampering found or a refused inspection is serious whatever the outcome."""
    if payload.summary.tampering_found or payload.summary.inspection_refused:
        return SERIOUS
    return _SEVERITY.get(payload.outcome, COMPLIANT)


def _day(moment: datetime) -> float:
    return moment.timestamp() / _SECONDS_PER_DAY


class HistoryFold:
    """An enterprise's history folded in time order; `features(as_of)` reads it."""

    def __init__(self) -> None:
        self.profile: enterprises_pb2.Enterprise | None = None
        self.attributes = profile_attributes(None)  # the categorical attributes of the profile
        # Complaints.
        self.substantiated = Decayed(COMPLAINT_HALF_LIFE_DAYS)
        self.substantiated_names: set[str] = set()
        self.filed: dict[str, float] = {}  # complaint (repeats folded into their original) -> last filed day
        # Instruments: name -> (retired, latest verification failed, next due date "YYYY-MM-DD").
        self.registry: dict[str, tuple[bool, bool, str]] = {}
        # Passing verifications with a known previous due date: (day recorded, done after that due date).
        self.verifications: deque[tuple[float, bool]] = deque()
        # Inspections, by severity (COMPLIANT..SERIOUS).
        self.outcomes = [Decayed() for _ in range(4)]
        self.counts = [0, 0, 0, 0]
        self.findings = [Decayed() for _ in range(4)]  # counted findings (index MINOR..SERIOUS)
        self.findings_counted = False
        self.last_day: float | None = None
        self.last_severity = COMPLIANT
        self.prev_severity: int | None = None
        self.cycle_severity = COMPLIANT  # the latest inspection that was not a follow-up
        self.cycle_day: float | None = None
        self.recent: deque[tuple[float, int]] = deque()  # (day, severity) of the last year's inspections
        self.last_violation_day: float | None = None
        self.last_major_day: float | None = None
        self.inspected = 0
        self.instruments: tuple[int, int] | None = None  # (checked, overdue + failed) of the latest check
        self.net_content: float | None = None
        self.overdue_rectifications: set[str] = set()
        self.commitments: dict[str, str] = {}  # commitment name -> valid_until ("" when open-ended)
        self.commitment_breached = False
        self.capability = 0  # 0 none, 1 declared, 2 certified or confirmed on site
        # Evidence of the hard rules.
        self.last_serious: datetime | None = None
        self.last_refused: datetime | None = None
        self.last_false_capability: datetime | None = None
        self.override: tuple[int, datetime, str] | None = None  # (level, until, the appeal that set it)
        self.listings: dict[str, datetime] = {}  # active serious-dishonesty listings -> effective time

    def add(self, moment: datetime, event: events_pb2.Event) -> None:
        kind = event.WhichOneof("payload")
        handler = _HANDLERS.get(kind)  # type: ignore[arg-type]
        if handler is not None:
            handler(self, moment, getattr(event, kind))

    # -- enterprises ---------------------------------------------------------------------------------

    def on_enterprise_registered(self, moment: datetime, payload: events_pb2.EnterpriseRegistered) -> None:
        self.profile = payload.enterprise
        self.attributes = profile_attributes(self.profile)

    def on_enterprise_updated(self, moment: datetime, payload: events_pb2.EnterpriseUpdated) -> None:
        if payload.HasField("enterprise"):
            self.profile = payload.enterprise
            self.attributes = profile_attributes(self.profile)

    on_enterprise_status_changed = on_enterprise_updated  # type: ignore[assignment]

    def active_commitment(self, moment: datetime) -> bool:
        if not self.commitments:
            return False
        day = moment.date().isoformat()
        return any(not until or day < until for until in self.commitments.values())

    def on_commitment_declared(self, moment: datetime, payload: events_pb2.CommitmentDeclared) -> None:
        self.commitments[payload.commitment.name] = payload.commitment.valid_until

    def on_commitment_withdrawn(self, moment: datetime, payload: events_pb2.CommitmentWithdrawn) -> None:
        self.commitments.pop(payload.commitment.name, None)

    def on_capability_declared(self, moment: datetime, payload: events_pb2.CapabilityDeclared) -> None:
        certified = bool(payload.declaration.iso10012_certificate_number)
        self.capability = max(self.capability, 2 if certified else 1)

    # -- complaints ----------------------------------------------------------------------------------

    def on_complaint_filed(self, moment: datetime, payload: events_pb2.ComplaintFiled) -> None:
        self.filed[payload.duplicate_of or payload.complaint] = _day(moment)

    def on_complaint_resolved(self, moment: datetime, payload: events_pb2.ComplaintResolved) -> None:
        name = payload.duplicate_of or payload.complaint
        if not payload.substantiated or name in self.substantiated_names:
            return  # only substantiated complaints are evidence, and a repeat only once
        self.substantiated_names.add(name)
        self.substantiated.add(_day(moment))

    # -- instruments in the registry -----------------------------------------------------------------

    def on_instrument_registered(self, moment: datetime, payload: events_pb2.InstrumentRegistered) -> None:
        instrument = payload.instrument
        retired = instrument.usage == enterprises_pb2.INSTRUMENT_USAGE_RETIRED
        verification = instrument.last_verification
        failed = verification.result == enterprises_pb2.VERIFICATION_RESULT_FAIL
        self.registry[instrument.name] = (retired, failed, verification.next_due_date)

    def on_verification_recorded(self, moment: datetime, payload: events_pb2.VerificationRecorded) -> None:
        retired, _, previous_due = self.registry.get(payload.instrument, (False, False, ""))
        failed = payload.verification.result == enterprises_pb2.VERIFICATION_RESULT_FAIL
        if previous_due and not failed:
            # ISO dates compare as strings; verified after the day it was due = late.
            late = payload.verification.verification_date > previous_due
            self.verifications.append((_day(moment), late))
        self.registry[payload.instrument] = (retired, failed, payload.verification.next_due_date)

    # -- inspections ---------------------------------------------------------------------------------

    def on_inspection_completed(self, moment: datetime, payload: events_pb2.InspectionCompleted) -> None:
        day = _day(moment)
        severity = severity_of(payload)
        summary = payload.summary
        self.inspected += 1
        self.outcomes[severity].add(day)
        self.counts[severity] += 1
        counted = (0, summary.minor_findings, summary.major_findings, summary.serious_findings)
        if any(count > 0 for count in counted):
            self.findings_counted = True
            for level in (MINOR, MAJOR, SERIOUS):
                if counted[level] > 0:
                    self.findings[level].add(day, float(counted[level]))
        if self.last_day == day:  # several inspections at the same time: the worst is "the last outcome"
            self.last_severity = max(self.last_severity, severity)
            if self.cycle_day == day:
                self.cycle_severity = max(self.cycle_severity, severity)
        else:
            if self.last_day is None or day - self.last_day > FOLLOWUP_WINDOW_DAYS:
                self.cycle_severity, self.cycle_day = severity, day  # not a follow-up of the one before
            self.prev_severity = None if self.last_day is None else self.last_severity
            self.last_severity = severity
        self.last_day = day
        while self.recent and day - self.recent[0][0] > WORST_WINDOW_DAYS + 1:
            self.recent.popleft()
        self.recent.append((day, severity))
        if severity >= MINOR:
            self.last_violation_day = day
            if self.active_commitment(moment):
                self.commitment_breached = True
        if severity >= MAJOR:
            self.last_major_day = day
        if payload.outcome == _Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION or summary.tampering_found:
            self.last_serious = moment
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

    def on_rectification_overdue(self, moment: datetime, payload: events_pb2.RectificationOverdue) -> None:
        self.overdue_rectifications.add(payload.inspection)

    def on_rectification_completed(
        self, moment: datetime, payload: events_pb2.RectificationCompleted
    ) -> None:
        self.overdue_rectifications.discard(payload.inspection)

    # -- scoring's own decisions ---------------------------------------------------------------------

    def on_credit_repair_granted(self, moment: datetime, payload: events_pb2.CreditRepairGranted) -> None:
        if payload.rule_code == "SERIOUS_VIOLATION":
            # Credit repair removes the negative record: the serious findings stop weighing.
            self.last_serious = None
            self.outcomes[SERIOUS] = Decayed()
            self.findings[SERIOUS] = Decayed()
            self.counts[SERIOUS] = 0
        elif payload.rule_code == "REFUSED_INSPECTION":
            self.last_refused = None
        elif payload.rule_code == "FALSE_CAPABILITY_DECLARATION":
            self.last_false_capability = None

    def on_grade_overridden(self, moment: datetime, payload: events_pb2.GradeOverridden) -> None:
        self.override = (int(payload.level), payload.expire_time.ToDatetime(tzinfo=UTC), payload.appeal)

    def on_override_reviewed(self, moment: datetime, payload: events_pb2.OverrideReviewed) -> None:
        if self.override is not None and self.override[2] == payload.appeal:  # a later override stands
            level, _, appeal = self.override
            self.override = (level, payload.expire_time.ToDatetime(tzinfo=UTC), appeal)

    def on_dishonesty_listed(self, moment: datetime, payload: events_pb2.DishonestyListed) -> None:
        self.listings[payload.listing] = moment

    def on_dishonesty_removed(self, moment: datetime, payload: events_pb2.DishonestyRemoved) -> None:
        self.listings.pop(payload.listing, None)

    # -- reading -------------------------------------------------------------------------------------

    def registry_counts(self, as_of: datetime) -> tuple[int, int]:
        """(instruments in use, of which failed or past their due date) as of `as_of`."""
        if not self.registry:
            return 0, 0
        today = as_of.date().isoformat()
        in_use = [(failed, due) for retired, failed, due in self.registry.values() if not retired]
        bad = sum(1 for failed, due in in_use if failed or (due and due < today))
        return len(in_use), bad

    def features(self, as_of: datetime) -> Features:
        day = _day(as_of)
        profile = self.profile
        registry_total, registry_bad = self.registry_counts(as_of)
        values: dict[str, float | str | None] = {
            **self._inspection_values(day),
            **self._finding_values(day),
            "substantiated_complaints": self.substantiated.at_day(day),
            "unsubstantiated_complaints": float(min(self._unsubstantiated(day), UNSUBSTANTIATED_CAP)),
            "instruments_bad_share": (
                None if self.instruments is None else self.instruments[1] / self.instruments[0]
            ),
            "registry_instruments_bad_share": registry_bad / registry_total if registry_total else None,
            "late_verification_share": self._late_share(day),
            "net_content_short_share": self.net_content,
            "open_rectification_overdue": float(len(self.overdue_rectifications)),
            "commitment_active": 1.0 if self.active_commitment(as_of) else 0.0,
            "commitment_breached": 1.0 if self.commitment_breached else 0.0,
            "capability_declaration": float(self.capability),
            "enterprise_age_years": age_years(profile.registered_date, as_of) if profile else None,
            **self.attributes,
        }
        return Features(
            values=values,
            has_evidence=self.inspected > 0 or self.substantiated.value > 0,
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

    def _inspection_values(self, day: float) -> dict[str, float | str | None]:
        decayed = [outcome.at_day(day) for outcome in self.outcomes]
        if self.last_day is None:
            return {
                "minor_decayed": 0.0,
                "major_decayed": 0.0,
                "serious_decayed": 0.0,
                "compliant_decayed": 0.0,
                "violation_share": None,
                "major_share": None,
                "last_outcome": None,
                "prev_outcome": None,
                "last_cycle_outcome": None,
                "worst_outcome_365": None,
                "days_since_last_inspection": None,
                "days_since_last_violation": None,
                "days_since_last_major": None,
                "followup_due": 0.0,
                "last_x_gap": NEVER,
                "ever_inspected": "NO",
            }
        inspections = sum(self.counts)
        violations = inspections - self.counts[COMPLIANT]
        majors = self.counts[MAJOR] + self.counts[SERIOUS]
        gap = day - self.last_day
        worst = max((s for d, s in self.recent if day - d <= WORST_WINDOW_DAYS), default=-1)
        return {
            "minor_decayed": decayed[MINOR],
            "major_decayed": decayed[MAJOR],
            "serious_decayed": decayed[SERIOUS],
            "compliant_decayed": decayed[COMPLIANT],
            "violation_share": (violations + VIOLATION_SHARE_PRIOR) / (inspections + 1)
            if inspections
            else None,
            "major_share": (majors + MAJOR_SHARE_PRIOR) / (inspections + 1) if inspections else None,
            "last_outcome": float(self.last_severity),
            "prev_outcome": None if self.prev_severity is None else float(self.prev_severity),
            "last_cycle_outcome": float(self.cycle_severity),
            "worst_outcome_365": float(worst),
            "days_since_last_inspection": gap,
            "days_since_last_violation": _since(day, self.last_violation_day),
            "days_since_last_major": _since(day, self.last_major_day),
            "followup_due": 1.0 if self.last_severity >= MINOR and gap <= FOLLOWUP_WINDOW_DAYS else 0.0,
            "last_x_gap": f"{SEVERITY_LETTER[self.last_severity]}:{_gap_bucket(gap)}",
            "ever_inspected": "YES",
        }

    def _finding_values(self, day: float) -> dict[str, float | None]:
        counted = self.findings_counted
        return {
            "minor_findings_decayed": self.findings[MINOR].at_day(day) if counted else None,
            "major_findings_decayed": self.findings[MAJOR].at_day(day) if counted else None,
            "serious_findings_decayed": self.findings[SERIOUS].at_day(day) if counted else None,
        }

    def _unsubstantiated(self, day: float) -> int:
        if not self.filed:
            return 0
        return sum(
            1
            for name, filed in self.filed.items()
            if day - filed <= UNSUBSTANTIATED_WINDOW_DAYS and name not in self.substantiated_names
        )

    def _late_share(self, day: float) -> float | None:
        recent = self.verifications
        # Reads come in time order: what is out of the window now stays out of it.
        while recent and day - recent[0][0] > LATE_VERIFICATION_WINDOW_DAYS:
            recent.popleft()
        if not recent:
            return None
        return sum(late for _, late in recent) / len(recent)


# payload field -> its handler (looked up once, not by name for every event folded).
_HANDLERS = {name[3:]: handler for name, handler in vars(HistoryFold).items() if name.startswith("on_")}


def _since(day: float, then: float | None) -> float | None:
    return None if then is None else day - then


def _gap_bucket(gap: float) -> str:
    return next(name for bound, name in GAP_BUCKETS if gap <= bound)
