"""The feature catalogue: what scoring knows about an enterprise as of a date. Pure Python.

Point in time: `compute_features(history, as_of)` reads only events that occurred strictly before
`as_of`, so a grade (or a backtest) as of a date never sees that date's outcome or anything later.
Old evidence fades with exponential decay: an event `age` days old weighs 0.5 ** (age / half_life).

Change FEATURE_VERSION whenever a definition below changes; every grade records it.

| feature                    | value as of `as_of` (risk: up = more risk as it grows)               | risk |
| -------------------------- | -------------------------------------------------------------------- | ---- |
| substantiated_complaints   | complaints resolved as substantiated, decayed (half-life 365 days);  | up   |
|                            | a repeat (duplicate_of set) counts once                              |      |
| unsubstantiated_complaints | complaints filed in the last 365 days and not substantiated, capped  | up   |
|                            | at 5: a flood (e.g. from a competitor) weighs no more than five      |      |
| compliant_inspections      | inspections that found no violation, decayed (half-life 730 days)    | down |
| violation_severity         | violations found, weighted minor 1 / major 3 / serious 9, decayed    | up   |
|                            | (half-life 730 days)                                                 |      |
| days_since_last_inspection | days since the last inspection; missing when never inspected         | up   |
| instruments_bad_share      | last inspection that checked instruments: (overdue + failed)/checked | up   |
| registry_instruments_bad_share | instruments in use in the enterprise registry whose latest       | up   |
|                            | verification failed or whose next due date has passed, as a share    |      |
| late_verification_share    | of the passing verifications recorded in the last 730 days, the      | up   |
|                            | share done after the instrument's previous due date (diligence over  |      |
|                            | time, where registry_instruments_bad_share is a snapshot); missing   |      |
|                            | when there is none                                                   |      |
| net_content_short_share    | last inspection that sampled net content: short batches / samples    | up   |
| open_rectification_overdue | inspections whose rectification is overdue and not since completed   | up   |
| commitment_active          | 1 when an integrity commitment is declared, not withdrawn and still  | down |
|                            | valid (its valid_until has not passed)                               |      |
| commitment_breached        | 1 when an inspection found a violation while a commitment was active | up   |
| capability_declaration     | 0 none, 1 capability self-declared, 2 certified (ISO 10012           | down |
|                            | certificate) or confirmed on site by an inspection                   |      |
| enterprise_age_years       | years since business registration; missing when the date is unknown  | down |
| subject_type               | SubjectType name, latest registration or update (categorical)        | -    |
| size_class                 | SizeClass name, latest registration or update (categorical)          | -    |

Evidence read by the policy's hard rules (not scorecard features): the latest serious violation
(SERIOUS outcome or tampering found), refused inspection and false capability declaration, and the
overdue-or-failed instrument counts (of the last inspection that checked instruments, and of the registry).
A granted credit repair (CreditRepairGranted) clears the evidence of its rule that occurred before it;
repairing SERIOUS_VIOLATION also removes those serious violations from `violation_severity` (credit
repair removes the negative record), while other violations keep weighing on the score. A listing on the
serious-dishonesty list (DishonestyListed) is evidence from its effective time until its removal
(DishonestyRemoved). The latest GradeOverridden (an accepted appeal) sets the level until it expires, or
until a regulator's review (OverrideReviewed) shortens or lifts it, whatever the rest says.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from integrity.inspections.v1 import inspections_pb2

FEATURE_VERSION = "features-v2"  # v2 added late_verification_share

COMPLAINT_HALF_LIFE_DAYS = 365.0
INSPECTION_HALF_LIFE_DAYS = 730.0
UNSUBSTANTIATED_WINDOW_DAYS = 365.0
UNSUBSTANTIATED_CAP = 5
LATE_VERIFICATION_WINDOW_DAYS = 730.0

_Outcome = inspections_pb2.InspectionOutcome
SEVERITY_WEIGHT = {
    _Outcome.INSPECTION_OUTCOME_MINOR_VIOLATION: 1.0,
    _Outcome.INSPECTION_OUTCOME_MAJOR_VIOLATION: 3.0,
    _Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION: 9.0,
}

NUMERIC_FEATURES = (
    "substantiated_complaints",
    "unsubstantiated_complaints",
    "compliant_inspections",
    "violation_severity",
    "days_since_last_inspection",
    "instruments_bad_share",
    "registry_instruments_bad_share",
    "late_verification_share",
    "net_content_short_share",
    "open_rectification_overdue",
    "commitment_active",
    "commitment_breached",
    "capability_declaration",
    "enterprise_age_years",
)
CATEGORICAL_FEATURES = ("subject_type", "size_class")
FEATURE_NAMES = NUMERIC_FEATURES + CATEGORICAL_FEATURES

# How risk moves as each numeric feature grows (the `risk` column above): a learned scorecard keeps its
# points monotone this way, and a boosted challenger is constrained the same way.
RISK_DIRECTION: dict[str, str] = {
    "substantiated_complaints": "increasing",
    "unsubstantiated_complaints": "increasing",
    "compliant_inspections": "decreasing",
    "violation_severity": "increasing",
    "days_since_last_inspection": "increasing",
    "instruments_bad_share": "increasing",
    "registry_instruments_bad_share": "increasing",
    "late_verification_share": "increasing",
    "net_content_short_share": "increasing",
    "open_rectification_overdue": "increasing",
    "commitment_active": "decreasing",
    "commitment_breached": "increasing",
    "capability_declaration": "decreasing",
    "enterprise_age_years": "decreasing",
}

# Event payloads (oneof field names of integrity.events.v1.Event) that scoring keeps in the history.
# Names not (yet) in events.proto are harmless: no event will carry them.
HISTORY_TYPES = frozenset(
    {
        "enterprise_registered",
        "enterprise_updated",
        "enterprise_status_changed",
        "instrument_registered",
        "verification_recorded",
        "commitment_declared",
        "commitment_withdrawn",
        "capability_declared",
        "complaint_filed",
        "complaint_accepted",
        "complaint_rejected",
        "complaint_resolved",
        "inspection_completed",
        "rectification_completed",
        "rectification_overdue",
        "credit_repair_granted",
        "grade_overridden",
        "override_reviewed",
        "dishonesty_listed",
        "dishonesty_removed",
    }
)


@dataclass(frozen=True)
class Features:
    """Feature values (None = missing) and the evidence the hard rules read."""

    values: dict[str, float | str | None]
    # At least one inspection or substantiated complaint: without it the grade is provisional.
    has_evidence: bool
    last_serious_violation: datetime | None = None
    last_refused_inspection: datetime | None = None
    last_false_capability: datetime | None = None
    # Since when the enterprise is on the serious-dishonesty list (its latest active listing); None: not.
    dishonesty_listed_since: datetime | None = None
    instruments_checked: int = 0
    instruments_bad: int = 0
    registry_instruments: int = 0
    registry_instruments_bad: int = 0
    # A regulator's override on appeal (GradeLevel number) and until when it holds.
    override_level: int | None = None
    override_until: datetime | None = None
