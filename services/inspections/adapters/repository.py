"""Where inspectors, plans, inspections and the local enterprise copy are kept; returns domain objects."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, date, datetime

from sqlmodel import Session, col, select

from integrity.enterprises.v1 import enterprises_pb2
from services.inspections.adapters.tables import EnterpriseCopyRow, InspectionRow, InspectorRow, PlanRow
from services.inspections.domain.draw import Candidate, Officer
from services.inspections.domain.inspections import (
    PLANNED,
    RECTIFYING,
    Findings,
    Inspection,
    Inspector,
    InstrumentFinding,
    NetContentFinding,
    Plan,
)
from shared.regions import region_prefix

ACTIVE = enterprises_pb2.ENTERPRISE_STATUS_ACTIVE


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite hands timestamps back without their zone; everything is stored in UTC.
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _inspector(row: InspectorRow) -> Inspector:
    return Inspector(
        id=row.id,
        display_name=row.display_name,
        region_code=row.region_code,
        qualifications=frozenset(int(q) for q in row.qualifications.split(",") if q),
        available=row.available,
        create_time=_utc(row.create_time),  # type: ignore[arg-type]
    )


def findings_to_json(findings: Findings) -> str:
    return json.dumps(asdict(findings), sort_keys=True)


def findings_from_json(text: str) -> Findings:
    data = json.loads(text or "{}")
    if not data:
        return Findings()
    return Findings(
        instruments=tuple(InstrumentFinding(**item) for item in data["instruments"]),
        net_content=tuple(NetContentFinding(**item) for item in data["net_content"]),
        capability_declaration=data["capability_declaration"],
        inspection_refused=data["inspection_refused"],
    )


def _inspection(row: InspectionRow) -> Inspection:
    return Inspection(
        id=row.id,
        plan_id=row.plan_id,
        uscc=row.uscc,
        region_code=row.region_code,
        inspectors=tuple(row.inspectors.split(",")),
        trigger=row.trigger,
        state=row.state,
        create_time=_utc(row.create_time),  # type: ignore[arg-type]
        outcome=row.outcome,
        findings=findings_from_json(row.findings),
        penalty_reference=row.penalty_reference,
        rectification_deadline=_utc(row.rectification_deadline),
        complete_time=_utc(row.complete_time),
        publish_date=row.publish_date,
        completed_by=row.completed_by,
    )


def _plan(row: PlanRow) -> Plan:
    return Plan(
        id=row.id,
        region_code=row.region_code,
        subject_type=row.subject_type,
        ratios={int(k): float(v) for k, v in json.loads(row.ratios).items()},
        seed=row.seed,
        snapshot=row.snapshot,
        created_by=row.created_by,
        request_id=row.request_id,
        create_time=_utc(row.create_time),  # type: ignore[arg-type]
    )


class InspectionsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- inspectors --------------------------------------------------------------------------------

    def add_inspector(self, inspector: Inspector) -> None:
        self.session.add(
            InspectorRow(
                id=inspector.id,
                display_name=inspector.display_name,
                region_code=inspector.region_code,
                qualifications=",".join(str(q) for q in sorted(inspector.qualifications)),
                available=inspector.available,
                create_time=inspector.create_time,
            )
        )

    def save_inspector(self, inspector: Inspector) -> None:
        row = self.session.get(InspectorRow, inspector.id)
        assert row is not None
        row.display_name = inspector.display_name
        row.qualifications = ",".join(str(q) for q in sorted(inspector.qualifications))
        row.available = inspector.available
        self.session.add(row)

    def get_inspector(self, inspector_id: str) -> Inspector | None:
        row = self.session.get(InspectorRow, inspector_id)
        return _inspector(row) if row is not None else None

    def list_inspectors(self, region_code: str, after_id: str | None, limit: int) -> list[Inspector]:
        statement = select(InspectorRow).where(
            col(InspectorRow.region_code).startswith(region_prefix(region_code))
        )
        if after_id is not None:
            statement = statement.where(col(InspectorRow.id) > after_id)
        rows = self.session.exec(statement.order_by(col(InspectorRow.id)).limit(limit))
        return [_inspector(row) for row in rows]

    # --- draw inputs -------------------------------------------------------------------------------

    def officers(self, region_code: str) -> list[Officer]:
        """Available inspectors of the region with their open (planned) inspections as load."""
        loads: dict[str, int] = {}
        for inspectors in self.session.exec(
            select(InspectionRow.inspectors).where(InspectionRow.state == PLANNED)
        ):
            for officer_id in inspectors.split(","):
                loads[officer_id] = loads.get(officer_id, 0) + 1
        return [
            Officer(i.id, i.qualifications, loads.get(i.id, 0))
            for i in (
                _inspector(row)
                for row in self.session.exec(
                    select(InspectorRow).where(
                        col(InspectorRow.region_code).startswith(region_prefix(region_code)),
                        col(InspectorRow.available).is_(True),
                    )
                )
            )
        ]

    def candidates(self, region_code: str, subject_type: int) -> list[Candidate]:
        """Active enterprises of the region (of the subject type, when given) with grade and trigger."""
        statement = select(EnterpriseCopyRow).where(
            col(EnterpriseCopyRow.region_code).startswith(region_prefix(region_code)),
            EnterpriseCopyRow.status == ACTIVE,
        )
        if subject_type:
            statement = statement.where(EnterpriseCopyRow.subject_type == subject_type)
        rows = list(self.session.exec(statement))
        leads = self._previous_leads(region_code)
        return [
            Candidate(row.uscc, row.subject_type, row.grade_level, row.trigger, leads.get(row.uscc, ""))
            for row in rows
        ]

    def _previous_leads(self, region_code: str) -> dict[str, str]:
        leads: dict[str, str] = {}
        statement = (
            select(InspectionRow.uscc, InspectionRow.inspectors)
            .where(col(InspectionRow.region_code).startswith(region_prefix(region_code)))
            .order_by(col(InspectionRow.create_time), col(InspectionRow.id))
        )
        for uscc, inspectors in self.session.exec(statement):
            leads[uscc] = inspectors.split(",", 1)[0]
        return leads

    def clear_triggers(self, usccs: list[str]) -> None:
        for uscc in usccs:
            row = self.session.get(EnterpriseCopyRow, uscc)
            if row is not None and row.trigger:
                row.trigger = ""
                self.session.add(row)

    # --- plans and inspections ---------------------------------------------------------------------

    def add_plan(self, plan: Plan) -> None:
        self.session.add(
            PlanRow(
                id=plan.id,
                region_code=plan.region_code,
                subject_type=plan.subject_type,
                ratios=json.dumps({str(k): v for k, v in sorted(plan.ratios.items())}),
                seed=plan.seed,
                snapshot=plan.snapshot,
                created_by=plan.created_by,
                request_id=plan.request_id,
                create_time=plan.create_time,
            )
        )

    def get_plan(self, plan_id: str) -> Plan | None:
        row = self.session.get(PlanRow, plan_id)
        return _plan(row) if row is not None else None

    def get_plan_by_request_id(self, request_id: str) -> Plan | None:
        row = self.session.exec(select(PlanRow).where(PlanRow.request_id == request_id)).first()
        return _plan(row) if row is not None else None

    def add_inspection(self, inspection: Inspection, position: int) -> None:
        self.session.add(
            InspectionRow(
                id=inspection.id,
                plan_id=inspection.plan_id,
                uscc=inspection.uscc,
                region_code=inspection.region_code,
                inspectors=",".join(inspection.inspectors),
                position=position,
                trigger=inspection.trigger,
                state=inspection.state,
                create_time=inspection.create_time,
            )
        )

    def inspections_of_plan(self, plan_id: str) -> list[Inspection]:
        rows = self.session.exec(
            select(InspectionRow)
            .where(InspectionRow.plan_id == plan_id)
            .order_by(col(InspectionRow.position))
        )
        return [_inspection(row) for row in rows]

    def get_inspection(self, inspection_id: str) -> Inspection | None:
        row = self.session.get(InspectionRow, inspection_id)
        return _inspection(row) if row is not None else None

    def save_inspection(self, inspection: Inspection) -> None:
        row = self.session.get(InspectionRow, inspection.id)
        assert row is not None
        row.state = inspection.state
        row.outcome = inspection.outcome
        row.findings = findings_to_json(inspection.findings)
        row.penalty_reference = inspection.penalty_reference
        row.rectification_deadline = inspection.rectification_deadline
        row.complete_time = inspection.complete_time
        row.publish_date = inspection.publish_date
        row.completed_by = inspection.completed_by
        self.session.add(row)

    def rectifications_due_before(self, now: datetime, limit: int) -> list[Inspection]:
        rows = self.session.exec(
            select(InspectionRow)
            .where(InspectionRow.state == RECTIFYING, col(InspectionRow.rectification_deadline) < now)
            .order_by(col(InspectionRow.id))
            .limit(limit)
        )
        return [_inspection(row) for row in rows]

    def published(
        self, region_code: str | None, today: date, after_id: str | None, limit: int
    ) -> list[tuple[Inspection, str]]:
        """Completed results whose publication date has come, newest id first, with the enterprise name."""
        statement = (
            select(InspectionRow, EnterpriseCopyRow.display_name)
            .join(EnterpriseCopyRow, col(EnterpriseCopyRow.uscc) == col(InspectionRow.uscc), isouter=True)
            .where(col(InspectionRow.publish_date).is_not(None), col(InspectionRow.publish_date) <= today)
        )
        if region_code:
            statement = statement.where(col(InspectionRow.region_code).startswith(region_prefix(region_code)))
        if after_id is not None:
            statement = statement.where(col(InspectionRow.id) < after_id)
        statement = statement.order_by(col(InspectionRow.id).desc()).limit(limit)
        return [(_inspection(row), name or "") for row, name in self.session.exec(statement)]

    # --- the local enterprise copy -----------------------------------------------------------------

    def enterprise(self, uscc: str) -> EnterpriseCopyRow:
        """The copy row of `uscc`, created (region from the USCC) when first heard of."""
        row = self.session.get(EnterpriseCopyRow, uscc)
        if row is None:
            row = EnterpriseCopyRow(uscc=uscc, region_code=uscc[2:8])
        return row

    def save_enterprise(self, row: EnterpriseCopyRow) -> None:
        self.session.add(row)
