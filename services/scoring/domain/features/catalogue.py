"""The feature catalogue: what scoring knows about an enterprise as of a date. Pure Python.

Point in time: `compute_features(history, as_of)` reads only events that occurred strictly before
`as_of`, so a grade (or a backtest) as of a date never sees that date's outcome or anything later.
Old evidence fades with exponential decay: an event `age` days old weighs 0.5 ** (age / half_life).

Change FEATURE_VERSION whenever a definition below changes; every grade records it.

Severity of an inspection: 0 compliant, 1 minor, 2 major, 3 serious; tampering found or a refused
inspection is serious whatever the outcome says. "Violation" = minor or worse, "major" = major or worse.

| feature                        | value as of `as_of` (risk: up = more risk as it grows)           | risk |
| ------------------------------ | ---------------------------------------------------------------- | ---- |
| minor_decayed, major_decayed,  | inspections whose severity was minor / major / serious, decayed  | up   |
| serious_decayed                | (half-life 365 days); a granted SERIOUS_VIOLATION credit repair  |      |
|                                | removes the serious ones                                         |      |
| compliant_decayed              | inspections that found no violation, decayed (365 days)          | down |
| minor_findings_decayed, ..._major_, ..._serious_ | violations counted by severity in the inspection | up |
|                                | results that count them, decayed (365 days); missing until an    |      |
|                                | inspection with counted findings                                 |      |
| violation_share                | (violations + 0.5) / (inspections + 1), smoothed; missing when   | up   |
|                                | never inspected                                                  |      |
| major_share                    | (major-or-worse + 0.15) / (inspections + 1); missing when never  | up   |
| last_outcome, prev_outcome     | severity of the latest inspection / the one before it (several   | up   |
|                                | at the same time: the worst); missing when there is none         |      |
| last_cycle_outcome             | severity of the latest inspection that was not a follow-up: the  | up   |
|                                | first, or one more than 90 days after the one before it          |      |
| worst_outcome_365              | worst severity in the last 365 days, -1 when none; missing when  | up   |
|                                | never inspected                                                  |      |
| days_since_last_inspection     | days since the latest inspection; missing when never inspected   | auto |
| days_since_last_violation      | days since the latest violation; missing when none               | down |
| days_since_last_major          | days since the latest major-or-worse violation; missing when none| down |
| followup_due                   | 1 when the latest inspection found a violation at most 90 days   | auto |
|                                | ago (a re-inspection is what usually comes next)                 |      |
| substantiated_complaints       | complaints resolved as substantiated, decayed (365 days); a      | up   |
|                                | repeat (duplicate_of set) counts once                            |      |
| unsubstantiated_complaints     | complaints filed in the last 365 days and not substantiated,     | up   |
|                                | capped at 5: a flood (e.g. from a competitor) weighs no more     |      |
| instruments_bad_share          | last inspection that checked instruments: (overdue + failed) /   | up   |
|                                | checked                                                          |      |
| registry_instruments_bad_share | instruments in use in the registry whose latest verification     | up   |
|                                | failed or whose next due date has passed, as a share             |      |
| late_verification_share        | of the passing verifications recorded in the last 730 days, the  | up   |
|                                | share done after the instrument's previous due date; missing     |      |
|                                | when there is none                                               |      |
| net_content_short_share        | last inspection that sampled net content: short batches / samples| up   |
| open_rectification_overdue     | inspections whose rectification is overdue and not since done    | up   |
| commitment_active              | 1 when an integrity commitment is declared, not withdrawn and    | down |
|                                | still valid                                                      |      |
| commitment_breached            | 1 when an inspection found a violation while a commitment was    | up   |
|                                | active                                                           |      |
| capability_declaration         | 0 none, 1 self-declared, 2 certified (ISO 10012) or confirmed on | down |
|                                | site by an inspection                                            |      |
| enterprise_age_years           | years since business registration; missing when unknown          | down |
| last_x_gap (categorical)       | the latest outcome (C, M, J major, S) and the days since it      | -    |
|                                | (0-30, 31-90, 91-365, 366+), e.g. "J:91-365"; "NEVER"            |      |
| ever_inspected (categorical)   | "YES" / "NO": base risk of the never inspected is learned        | -    |
| industry (categorical)         | GB/T 4754 code as registered (class, e.g. "F5265"); a scorecard  | -    |
|                                | pools rare codes up class -> group -> division -> section        |      |
| district (categorical)         | GB/T 2260 county code as registered; pooled up to its city       | -    |
| subject_type, size_class       | SubjectType / SizeClass name, latest registration or update      | -    |

Missing categoricals are "MISSING". "auto" risk: the direction is learned from the data (a scorecard
records it), because it differs between places: where a violation is followed by a re-inspection that
usually passes, a short gap since the last inspection means less risk; where inspections are triggered
by complaints, more.

Not features, on purpose: the number of inspections on record and the days since the record began both
grow with the time since a (migrated) record starts, so what they mean in training does not hold later.

Evidence read by the policy's hard rules (not scorecard features): the latest serious violation
(SERIOUS outcome or tampering found), refused inspection and false capability declaration, and the
overdue-or-failed instrument counts (of the last inspection that checked instruments, and of the
registry). A granted credit repair (CreditRepairGranted) clears the evidence of its rule that occurred
before it. A listing on the serious-dishonesty list (DishonestyListed) is evidence from its effective time
until its removal (DishonestyRemoved). The latest GradeOverridden (an accepted appeal) sets the level until
it expires, or until a regulator's review (OverrideReviewed) shortens or lifts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

FEATURE_VERSION = "features-v3"  # v3: severity-aware history, finding counts, registry attributes

HALF_LIFE_DAYS = 365.0  # inspections and substantiated complaints
COMPLAINT_HALF_LIFE_DAYS = HALF_LIFE_DAYS
UNSUBSTANTIATED_WINDOW_DAYS = 365.0
UNSUBSTANTIATED_CAP = 5
LATE_VERIFICATION_WINDOW_DAYS = 730.0
FOLLOWUP_WINDOW_DAYS = 90.0  # an inspection this soon after a violation is a follow-up of it
WORST_WINDOW_DAYS = 365.0
VIOLATION_SHARE_PRIOR = 0.5  # the smoothed shares add one pseudo-inspection with this much violation
MAJOR_SHARE_PRIOR = 0.15
GAP_BUCKETS = ((30.0, "0-30"), (90.0, "31-90"), (365.0, "91-365"), (float("inf"), "366+"))

COMPLIANT, MINOR, MAJOR, SERIOUS = 0, 1, 2, 3
SEVERITY_LETTER = {COMPLIANT: "C", MINOR: "M", MAJOR: "J", SERIOUS: "S"}
NEVER = "NEVER"
MISSING = "MISSING"

NUMERIC_FEATURES = (
    "minor_decayed",
    "major_decayed",
    "serious_decayed",
    "compliant_decayed",
    "minor_findings_decayed",
    "major_findings_decayed",
    "serious_findings_decayed",
    "violation_share",
    "major_share",
    "last_outcome",
    "prev_outcome",
    "last_cycle_outcome",
    "worst_outcome_365",
    "days_since_last_inspection",
    "days_since_last_violation",
    "days_since_last_major",
    "followup_due",
    "substantiated_complaints",
    "unsubstantiated_complaints",
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
CATEGORICAL_FEATURES = ("last_x_gap", "ever_inspected", "industry", "district", "subject_type", "size_class")
FEATURE_NAMES = NUMERIC_FEATURES + CATEGORICAL_FEATURES

# How risk moves as each numeric feature grows (the `risk` column above): a learned scorecard keeps its
# points monotone this way ("auto": the way the training data shows), and the challenger is constrained
# the same way.
RISK_DIRECTION: dict[str, str] = {
    "minor_decayed": "increasing",
    "major_decayed": "increasing",
    "serious_decayed": "increasing",
    "compliant_decayed": "decreasing",
    "minor_findings_decayed": "increasing",
    "major_findings_decayed": "increasing",
    "serious_findings_decayed": "increasing",
    "violation_share": "increasing",
    "major_share": "increasing",
    "last_outcome": "increasing",
    "prev_outcome": "increasing",
    "last_cycle_outcome": "increasing",
    "worst_outcome_365": "increasing",
    "days_since_last_inspection": "auto",
    "days_since_last_violation": "decreasing",
    "days_since_last_major": "decreasing",
    "followup_due": "auto",
    "substantiated_complaints": "increasing",
    "unsubstantiated_complaints": "increasing",
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

# Hierarchical codes: the prefix lengths of their coarser levels, finest first. A scorecard pools a code
# too rare to learn from into the nearest coarser one (class -> group -> division -> section; county ->
# city); see services.scoring.domain.scorecard.parent_code.
HIERARCHY: dict[str, tuple[int, ...]] = {"industry": (4, 3, 1), "district": (4,)}

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
