"""Translation between the domain model and protobuf: the API messages of integrity.inspections.v1 and the
event payloads of integrity.events.v1 that the use cases publish."""

from __future__ import annotations

from dataclasses import asdict, fields
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from integrity.events.v1 import events_pb2
from integrity.inspections.v1 import inspections_pb2
from services.inspections.domain.commitment import PublicCommitment, public_view
from services.inspections.domain.findings import (
    Findings,
    FindingSummary,
    InstrumentFinding,
    NetContentFinding,
)
from services.inspections.domain.inspections import Inspection, PublishedResult
from services.inspections.domain.inspectors import Inspector
from services.inspections.domain.names import INSPECTOR_PREFIX, PLAN_PREFIX
from services.inspections.domain.plans import Plan
from shared.errors import FieldViolation, invalid_argument

# The CloudEvents source of every event the service publishes.
EVENT_SOURCE = "//integrity/inspections"
P = inspections_pb2


def time_of(timestamp: Timestamp, field: str) -> datetime:
    try:
        return timestamp.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        raise invalid_argument([FieldViolation(field, "is not a representable timestamp")]) from None


def inspector_to_proto(inspector: Inspector) -> P.Inspector:
    message = P.Inspector(
        name=inspector.name,
        display_name=inspector.display_name,
        region_code=inspector.region_code,
        qualifications=sorted(inspector.qualifications),  # type: ignore[arg-type]
        available=inspector.available,
    )
    message.create_time.FromDatetime(inspector.create_time)
    return message


def plan_to_proto(plan: Plan, inspections: list[Inspection], revealed: bool = False) -> P.InspectionPlan:
    """The plan as its regulators see it (the seed included), with its commitment when it has one."""
    message = P.InspectionPlan(
        name=plan.name,
        region_code=plan.region_code,
        seed=plan.seed,
        inspections=[i.name for i in inspections],
        subject_type=plan.subject_type,  # type: ignore[arg-type]
        sampling_ratios=[
            P.SamplingRatio(level=level, ratio=ratio)  # type: ignore[arg-type]
            for level, ratio in sorted(plan.ratios.items())
        ],
        created_by=plan.created_by,
    )
    message.create_time.FromDatetime(plan.create_time)
    if plan.commitment is not None:
        view = public_view(plan.id, plan.region_code, plan.create_time, plan.seed, plan.commitment, revealed)
        message.commitment.CopyFrom(commitment_to_proto(view))
    return message


def commitment_to_proto(view: PublicCommitment, with_inputs: bool = False) -> P.PlanCommitment:
    """What the public may see of a plan's commitment: the seed and its salt only once revealed, the public
    inputs only when asked for (they can be large), never the tag key."""
    commitment = view.commitment
    plan = PLAN_PREFIX + view.plan_id
    message = P.PlanCommitment(
        name=f"{plan}/commitment",
        plan=plan,
        region_code=view.region_code,
        seed_commitment=commitment.seed_commitment,
        snapshot_hash=commitment.snapshot_hash,
        public_inputs_hash=commitment.public_inputs_hash,
        inspection_count=commitment.inspection_count,
        seed_chosen_by_caller=commitment.seed_chosen_by_caller,
        revealed=view.revealed,
        seed=view.seed,
        seed_salt=view.seed_salt,
        public_inputs=commitment.public_inputs if with_inputs else "",
    )
    message.create_time.FromDatetime(view.create_time)
    message.reveal_time.FromDatetime(commitment.reveal_time)
    return message


def findings_from_proto(message: P.Findings) -> Findings:
    return Findings(
        instruments=tuple(
            InstrumentFinding(i.instrument, i.verification_status, i.tampering_found)
            for i in message.instruments
        ),
        net_content=tuple(
            NetContentFinding(n.product, n.batches_sampled, n.batches_short, n.largest_shortfall_percent)
            for n in message.net_content
        ),
        capability_declaration=message.capability_declaration,
        inspection_refused=message.inspection_refused,
        minor_findings=message.minor_findings,
        major_findings=message.major_findings,
        serious_findings=message.serious_findings,
    )


def findings_to_proto(findings: Findings) -> P.Findings:
    return P.Findings(
        instruments=[
            P.InstrumentFinding(
                instrument=i.instrument,
                verification_status=i.verification_status,  # type: ignore[arg-type]
                tampering_found=i.tampering_found,
            )
            for i in findings.instruments
        ],
        net_content=[
            P.NetContentFinding(
                product=n.product,
                batches_sampled=n.batches_sampled,
                batches_short=n.batches_short,
                largest_shortfall_percent=n.largest_shortfall_percent,
            )
            for n in findings.net_content
        ],
        capability_declaration=findings.capability_declaration,  # type: ignore[arg-type]
        inspection_refused=findings.inspection_refused,
        minor_findings=findings.minor_findings,
        major_findings=findings.major_findings,
        serious_findings=findings.serious_findings,
    )


def inspection_to_proto(inspection: Inspection) -> P.Inspection:
    message = P.Inspection(
        name=inspection.name,
        enterprise=f"enterprises/{inspection.uscc}",
        inspectors=[INSPECTOR_PREFIX + i for i in inspection.inspectors],
        outcome=inspection.outcome,  # type: ignore[arg-type]
        plan=PLAN_PREFIX + inspection.plan_id,
        state=inspection.state,  # type: ignore[arg-type]
        findings=findings_to_proto(inspection.findings),
        penalty_reference=inspection.penalty_reference,
        publish_date=inspection.publish_date.isoformat() if inspection.publish_date else "",
        trigger=inspection.trigger,
    )
    if inspection.complete_time is not None:
        message.complete_time.FromDatetime(inspection.complete_time)
    if inspection.rectification_deadline is not None:
        message.rectification_deadline.FromDatetime(inspection.rectification_deadline)
    return message


def published_to_proto(result: PublishedResult) -> P.PublishedResult:
    """Only what the public may see: no inspectors, no penalty details, no findings beyond the items."""
    inspection = result.inspection
    assert inspection.complete_time is not None
    message = P.PublishedResult(
        inspection=inspection.name,
        enterprise=f"enterprises/{inspection.uscc}",
        enterprise_display_name=result.enterprise_name,
        region_code=inspection.region_code,
        inspection_date=inspection.complete_time.date().isoformat(),
        items_checked=inspection.findings.items_checked(),
        outcome=inspection.outcome,  # type: ignore[arg-type]
        plan=PLAN_PREFIX + inspection.plan_id,
        draw_opening=result.opening,
    )
    if result.commitment is not None:
        message.plan_commitment.CopyFrom(commitment_to_proto(result.commitment))
    return message


# --- event payloads (integrity.events.v1) ---------------------------------------------------------


def planned_event(inspection: Inspection, plan: Plan) -> events_pb2.InspectionPlanned:
    return events_pb2.InspectionPlanned(
        inspection=inspection.name, plan=plan.name, trigger=inspection.trigger
    )


def summary_to_proto(summary: FindingSummary) -> events_pb2.InspectionFindingSummary:
    # Field for field, by name (DeclarationCheck and CapabilityDeclarationCheck share their numbers).
    return events_pb2.InspectionFindingSummary(**asdict(summary))


def summary_from_proto(message: events_pb2.InspectionFindingSummary) -> FindingSummary:
    return FindingSummary(**{field.name: getattr(message, field.name) for field in fields(FindingSummary)})


def completed_event(inspection: Inspection) -> events_pb2.InspectionCompleted:
    event = events_pb2.InspectionCompleted(
        inspection=inspection.name,
        outcome=inspection.outcome,  # type: ignore[arg-type]
        summary=summary_to_proto(inspection.findings.summary()),
        penalty_reference=inspection.penalty_reference,
    )
    if inspection.rectification_deadline is not None:
        event.rectification_deadline.FromDatetime(inspection.rectification_deadline)
    return event


def rectified_event(inspection: Inspection) -> events_pb2.RectificationCompleted:
    return events_pb2.RectificationCompleted(inspection=inspection.name)


def overdue_event(inspection: Inspection) -> events_pb2.RectificationOverdue:
    assert inspection.rectification_deadline is not None
    payload = events_pb2.RectificationOverdue(inspection=inspection.name)
    payload.deadline.FromDatetime(inspection.rectification_deadline)
    return payload
