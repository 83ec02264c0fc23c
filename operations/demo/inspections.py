"""Inspections of an enterprise: routine double-random ones and those a substantiated complaint triggers
(and, with the knobs, follow-ups of a violation). The probability that one finds a violation is logistic
in the enterprise's hidden dishonesty, with effects of size, sector, a trigger and overdue or failed
instruments (and the knobs' base rate, first inspection, industry and subject type); it is kept per
inspection as the truth a backtest can be compared with. Then the severity, the findings, and what
follows: rectification, in time or overdue."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from integrity.enterprises.v1 import enterprises_pb2 as epb
from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2 as ipb
from operations.demo.knobs import industry_offset, poisson
from operations.demo.story import INSPECTIONS_SOURCE, Story, sigmoid, working_hours

# Violation probability of an inspection: logistic in dishonesty, with small effects of size, sector,
# a complaint that triggered it, and instruments that are overdue or failed at the time.
DISHONESTY_WEIGHT = 1.0
SIZE_LOGIT = {epb.SIZE_CLASS_MICRO: 0.25, epb.SIZE_CLASS_SMALL: 0.1, epb.SIZE_CLASS_MEDIUM: -0.1}
SIZE_LOGIT[epb.SIZE_CLASS_LARGE] = -0.3
SECTOR_LOGIT = {"fuel": 0.2, "retail": 0.15, "prepackaged": 0.2, "medical": -0.3, "testing": -0.3}
TRIGGERED_LOGIT = 0.6
BAD_INSTRUMENTS_LOGIT = 0.6  # times the share of instruments overdue or failed


class InspectionsStory(Story):
    industry_code: str
    inspected_before: bool  # the next inspection is not its first

    def bad_share(self, moment: datetime) -> tuple[int, int, int]:
        raise NotImplementedError  # instruments.InstrumentsStory

    def inspections(self, triggers: list[datetime]) -> None:
        rng, knobs = self.rng, self.knobs
        per_year = knobs.routine_per_year * (1.3 if self.size >= epb.SIZE_CLASS_MEDIUM else 1.0)
        routine = self.poisson_times(per_year, self.active_from + timedelta(days=30))
        visits = sorted([(t, False) for t in routine] + [(t, True) for t in triggers if t < self.end])
        for moment, triggered in visits:
            violated = self.inspect(working_hours(moment, rng), triggered)
            if violated and knobs.followup_prob > 0 and self.knob_rng.random() < knobs.followup_prob:
                # A violation followed by a re-inspection a few weeks later (NYC-like).
                follow = moment + timedelta(days=self.knob_rng.uniform(10, 60))
                if follow < self.end:
                    self.inspect(working_hours(follow, rng), False, followup=True)

    def violation_probability(self, moment: datetime, triggered: bool, followup: bool = False) -> float:
        instruments, overdue, failed = self.bad_share(moment)
        knobs = self.knobs
        logit = (
            knobs.base_logit
            + (knobs.first_logit if not self.inspected_before else 0.0)
            + (knobs.followup_logit if followup else 0.0)
            + (knobs.sector_scale - 1.0) * SECTOR_LOGIT.get(self.sector.key, 0.0)
            + industry_offset(self.seed, self.industry_code, knobs.industry_sd)
            + dict(knobs.subject_logit).get(self.sector.subject_type, 0.0)
            + DISHONESTY_WEIGHT * self.z
            + SIZE_LOGIT.get(self.size, 0.0)
            + SECTOR_LOGIT.get(self.sector.key, 0.0)
            + (TRIGGERED_LOGIT if triggered else 0.0)
            + (BAD_INSTRUMENTS_LOGIT * (overdue + failed) / instruments if instruments else 0.0)
        )
        return sigmoid(logit)

    def inspect(self, moment: datetime, triggered: bool, followup: bool = False) -> bool:
        """Records an inspection and what follows it; whether it found a violation."""
        rng, z = self.rng, self.z
        name = f"inspections/{self.new_id(moment)}"
        probability = self.violation_probability(moment, triggered, followup)
        self.inspected_before = True
        violated = rng.random() < probability
        instruments, overdue, failed = self.bad_share(moment)
        summary = events_pb2.InspectionFindingSummary()
        outcome = ipb.INSPECTION_OUTCOME_COMPLIANT
        if self.sector.net_content:
            summary.net_content_samples = rng.randint(4, 10)
        if violated:
            serious = rng.random() < sigmoid(self.knobs.serious_logit + 0.8 * z)
            outcome = (
                ipb.INSPECTION_OUTCOME_SERIOUS_VIOLATION
                if serious
                else (
                    ipb.INSPECTION_OUTCOME_MAJOR_VIOLATION
                    if rng.random() < self.knobs.major_share
                    else ipb.INSPECTION_OUTCOME_MINOR_VIOLATION
                )
            )
            summary.instruments_checked = instruments
            summary.instruments_overdue, summary.instruments_failed = overdue, failed
            if self.sector.net_content:
                summary.net_content_short = rng.randint(1, min(3, summary.net_content_samples))
                summary.largest_shortfall_percent = round(rng.uniform(1.0, 8.0), 1)
            if serious and self.sector.subject_type == epb.SUBJECT_TYPE_TRADE_INSTRUMENT_USER:
                summary.tampering_found = rng.random() < 0.6
            if self.false_capability and rng.random() < 0.5:
                summary.capability_declaration = events_pb2.CAPABILITY_DECLARATION_CHECK_FALSE
            summary.inspection_refused = rng.random() < 0.03
            if summary.inspection_refused or summary.capability_declaration:
                # The inspections service's rule: a refusal or a false declaration is a serious violation.
                outcome = ipb.INSPECTION_OUTCOME_SERIOUS_VIOLATION
        else:
            # A compliant visit checks the instruments in lawful use (the overdue ones are set aside).
            summary.instruments_checked = instruments - overdue - failed
            if not self.false_capability and rng.random() < 0.3:
                summary.capability_declaration = events_pb2.CAPABILITY_DECLARATION_CHECK_CONFIRMED
        if violated and self.knobs.finding_counts:
            self.count_findings(summary, outcome)
        payload = events_pb2.InspectionCompleted(inspection=name, outcome=outcome, summary=summary)  # type: ignore[arg-type]
        deadline = moment + timedelta(days=30)
        if violated:
            payload.rectification_deadline.FromDatetime(deadline)
            payload.penalty_reference = (
                f"陕市监计罚〔{moment:%Y}〕{rng.randint(1, 999)}号" if serious_or_major(outcome) else ""
            )
        self.emit(moment, INSPECTIONS_SOURCE, "inspection_completed", payload)
        if moment < self.end:
            self.truth[name] = probability
        if not violated or summary.inspection_refused:
            return violated
        if rng.random() < sigmoid(1.2 - 0.8 * z):
            self.emit(
                moment + timedelta(days=rng.uniform(5, 28)),
                INSPECTIONS_SOURCE,
                "rectification_completed",
                events_pb2.RectificationCompleted(inspection=name),
            )
            return violated
        overdue_event = events_pb2.RectificationOverdue(inspection=name)
        overdue_event.deadline.FromDatetime(deadline)
        self.emit(deadline + timedelta(hours=1), INSPECTIONS_SOURCE, "rectification_overdue", overdue_event)
        if rng.random() < 0.7:
            self.emit(
                deadline + timedelta(days=rng.uniform(10, 60)),
                INSPECTIONS_SOURCE,
                "rectification_completed",
                events_pb2.RectificationCompleted(inspection=name),
            )
        return violated

    def count_findings(self, summary: events_pb2.InspectionFindingSummary, outcome: int) -> None:
        """Findings counted by severity, the outcome the worst of them: one or two at its severity, and
        minor ones the more often the less honest the enterprise."""
        rng = self.knob_rng
        summary.minor_findings = poisson(rng, 1.2 * math.exp(0.4 * self.z))
        if outcome == ipb.INSPECTION_OUTCOME_MINOR_VIOLATION:
            summary.minor_findings += 1
        elif outcome == ipb.INSPECTION_OUTCOME_MAJOR_VIOLATION:
            summary.major_findings = 1 + (rng.random() < 0.3)
        else:
            summary.major_findings = poisson(rng, 0.6)
            summary.serious_findings = 1 + (rng.random() < 0.2)


def serious_or_major(outcome: int) -> bool:
    return outcome in (ipb.INSPECTION_OUTCOME_SERIOUS_VIOLATION, ipb.INSPECTION_OUTCOME_MAJOR_VIOLATION)
