"""Where inspectors, plans and inspections are kept: one SQL repository per aggregate, each returning domain
objects (the local copy of enterprises: local_copy_repository.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, fields
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, String, func, literal, or_, update
from sqlmodel import Session, col, select

from services.inspections.adapters.tables import (
    EnterpriseCopyRow,
    InspectionRow,
    InspectorRow,
    PlanCommitmentRow,
    PlanRow,
)
from services.inspections.domain.commitment import PlanCommitment
from services.inspections.domain.findings import Findings, InstrumentFinding, NetContentFinding
from services.inspections.domain.inspections import PLANNED, RECTIFYING, Inspection, PublishedResult
from services.inspections.domain.inspectors import Inspector
from services.inspections.domain.plans import Plan
from services.inspections.domain.worklist import InspectionQuery
from shared.regions import region_prefix


def _utc(moment: datetime | None) -> datetime | None:
    # SQLite hands timestamps back without their zone; everything is stored in UTC.
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class SqlRepository:
    def __init__(self, session: Session) -> None:
        self.session = session


def in_region(column: Any, region_code: str) -> ColumnElement[bool]:
    """The rows of `region_code` and the regions inside it ("" = everywhere)."""
    # Division codes are digits only, so the prefix needs no LIKE escaping.
    return col(column).startswith(region_prefix(region_code))


# --- inspectors ------------------------------------------------------------------------------------


def _qualifications(inspector: Inspector) -> str:
    return ",".join(str(q) for q in sorted(inspector.qualifications))


def _inspector(row: InspectorRow) -> Inspector:
    return Inspector(
        id=row.id,
        display_name=row.display_name,
        region_code=row.region_code,
        qualifications=frozenset(int(q) for q in row.qualifications.split(",") if q),
        available=row.available,
        create_time=_utc(row.create_time),  # type: ignore[arg-type]
    )


class SqlInspectorRepository(SqlRepository):
    def add(self, inspector: Inspector) -> None:
        self.session.add(
            InspectorRow(
                id=inspector.id,
                display_name=inspector.display_name,
                region_code=inspector.region_code,
                qualifications=_qualifications(inspector),
                available=inspector.available,
                create_time=inspector.create_time,
            )
        )

    def save(self, inspector: Inspector) -> None:
        row = self.session.get(InspectorRow, inspector.id)
        assert row is not None
        row.display_name = inspector.display_name
        row.qualifications = _qualifications(inspector)
        row.available = inspector.available
        self.session.add(row)

    def get(self, inspector_id: str) -> Inspector | None:
        row = self.session.get(InspectorRow, inspector_id)
        return _inspector(row) if row is not None else None

    def list(self, region_code: str, after_id: str | None, limit: int) -> list[Inspector]:
        """Up to `limit` inspectors of the region (every region for ""), by id, those after `after_id`."""
        statement = select(InspectorRow).where(in_region(InspectorRow.region_code, region_code))
        if after_id is not None:
            statement = statement.where(col(InspectorRow.id) > after_id)
        rows = self.session.exec(statement.order_by(col(InspectorRow.id)).limit(limit))
        return [_inspector(row) for row in rows]

    def available_in(self, region_code: str) -> list[Inspector]:
        """The region's inspectors that may be drawn."""
        statement = select(InspectorRow).where(
            in_region(InspectorRow.region_code, region_code), col(InspectorRow.available).is_(True)
        )
        return [_inspector(row) for row in self.session.exec(statement)]


# --- plans -----------------------------------------------------------------------------------------


def _plan(row: PlanRow, commitment: PlanCommitmentRow | None) -> Plan:
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
        commitment=None if commitment is None else _commitment(commitment),
    )


# The commitment's fields and the row's columns have the same names.
_COMMITMENT_FIELDS = tuple(field.name for field in fields(PlanCommitment))


def _commitment(row: PlanCommitmentRow) -> PlanCommitment:
    values = {name: getattr(row, name) for name in _COMMITMENT_FIELDS}
    return PlanCommitment(**{**values, "reveal_time": _utc(row.reveal_time)})


class SqlPlanRepository(SqlRepository):
    def add(self, plan: Plan) -> None:
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
        if plan.commitment is not None:
            self.session.add(PlanCommitmentRow(**vars(plan.commitment)))

    def get(self, plan_id: str) -> Plan | None:
        row = self.session.get(PlanRow, plan_id)
        return _plan(row, self.session.get(PlanCommitmentRow, plan_id)) if row is not None else None

    def get_by_request_id(self, request_id: str) -> Plan | None:
        row = self.session.exec(select(PlanRow).where(PlanRow.request_id == request_id)).first()
        return _plan(row, self.session.get(PlanCommitmentRow, row.id)) if row is not None else None

    def committed(self, region_code: str, after_id: str | None, limit: int) -> list[Plan]:
        """Up to `limit` plans with a commitment, of the region ("" = every one), newest first, those
        before `after_id`."""
        statement = select(PlanRow, PlanCommitmentRow).join(
            PlanCommitmentRow, col(PlanCommitmentRow.plan_id) == col(PlanRow.id)
        )
        if region_code:
            statement = statement.where(in_region(PlanRow.region_code, region_code))
        if after_id is not None:
            statement = statement.where(col(PlanRow.id) < after_id)
        rows = self.session.exec(statement.order_by(col(PlanRow.id).desc()).limit(limit))
        return [_plan(plan, commitment) for plan, commitment in rows]

    def get_many(self, plan_ids: Iterable[str]) -> dict[str, Plan]:
        statement = (
            select(PlanRow, PlanCommitmentRow)
            .join(PlanCommitmentRow, col(PlanCommitmentRow.plan_id) == col(PlanRow.id), isouter=True)
            .where(col(PlanRow.id).in_(set(plan_ids)))
        )
        return {plan.id: _plan(plan, commitment) for plan, commitment in self.session.exec(statement)}

    def list(self, region_code: str, offset: int, limit: int) -> list[Plan]:
        statement = (
            select(PlanRow, PlanCommitmentRow)
            .join(PlanCommitmentRow, col(PlanCommitmentRow.plan_id) == col(PlanRow.id), isouter=True)
            .where(in_region(PlanRow.region_code, region_code))
            .order_by(col(PlanRow.create_time).desc(), col(PlanRow.id))
            .offset(offset)
            .limit(limit)
        )
        return [_plan(plan, commitment) for plan, commitment in self.session.exec(statement)]


# --- inspections -----------------------------------------------------------------------------------


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
        # Rows written before findings were counted have no counts.
        minor_findings=data.get("minor_findings", 0),
        major_findings=data.get("major_findings", 0),
        serious_findings=data.get("serious_findings", 0),
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


class SqlInspectionRepository(SqlRepository):
    def add(self, inspection: Inspection, position: int) -> None:
        """`position`: its place in the plan's draw, so `plan verify` compares in order."""
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

    def get(self, inspection_id: str) -> Inspection | None:
        row = self.session.get(InspectionRow, inspection_id)
        return _inspection(row) if row is not None else None

    def save(self, inspection: Inspection, expected_state: int) -> bool:
        """Writes the changed inspection only while its stored state is still `expected_state`: the
        lifecycle never returns to a state, so the state is the version. False when another transaction
        moved it first (one statement, so two concurrent moves cannot both win)."""
        result = self.session.execute(
            update(InspectionRow)
            .where(col(InspectionRow.id) == inspection.id, col(InspectionRow.state) == expected_state)
            .values(
                state=inspection.state,
                outcome=inspection.outcome,
                findings=findings_to_json(inspection.findings),
                penalty_reference=inspection.penalty_reference,
                rectification_deadline=inspection.rectification_deadline,
                complete_time=inspection.complete_time,
                publish_date=inspection.publish_date,
                completed_by=inspection.completed_by,
            )
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]

    def of_plan(self, plan_id: str) -> list[Inspection]:
        """The plan's inspections in the draw's order."""
        rows = self.session.exec(
            select(InspectionRow)
            .where(InspectionRow.plan_id == plan_id)
            .order_by(col(InspectionRow.position))
        )
        return [_inspection(row) for row in rows]

    def unpublished_counts(self, plan_ids: Iterable[str], today: date) -> dict[str, int]:
        """Plan id -> how many of its inspections are not published by `today` (0 for none)."""
        unpublished = or_(col(InspectionRow.publish_date).is_(None), col(InspectionRow.publish_date) > today)
        ids = set(plan_ids)
        statement = (
            select(InspectionRow.plan_id, func.count())
            .where(col(InspectionRow.plan_id).in_(ids), unpublished)
            .group_by(col(InspectionRow.plan_id))
        )
        counts = dict.fromkeys(ids, 0)
        counts.update({plan_id: count for plan_id, count in self.session.exec(statement)})
        return counts

    def planned_loads(self) -> dict[str, int]:
        """Inspector id -> how many PLANNED inspections it is assigned to (every region)."""
        loads: dict[str, int] = {}
        for inspectors in self.session.exec(
            select(InspectionRow.inspectors).where(InspectionRow.state == PLANNED)
        ):
            for officer_id in inspectors.split(","):
                loads[officer_id] = loads.get(officer_id, 0) + 1
        return loads

    def previous_leads(self, region_code: str) -> dict[str, str]:
        """USCC -> the inspector who led its latest inspection, for the region's enterprises."""
        leads: dict[str, str] = {}
        statement = (
            select(InspectionRow.uscc, InspectionRow.inspectors)
            .where(in_region(InspectionRow.region_code, region_code))
            .order_by(col(InspectionRow.create_time), col(InspectionRow.id))
        )
        for uscc, inspectors in self.session.exec(statement):
            leads[uscc] = inspectors.split(",", 1)[0]
        return leads

    def rectifications_due_before(self, now: datetime, limit: int) -> list[Inspection]:
        rows = self.session.exec(
            select(InspectionRow)
            .where(InspectionRow.state == RECTIFYING, col(InspectionRow.rectification_deadline) < now)
            .order_by(col(InspectionRow.id))
            .limit(limit)
        )
        return [_inspection(row) for row in rows]

    def list(self, query: InspectionQuery, after_id: str | None, limit: int) -> list[Inspection]:
        """Up to `limit` inspections matching `query`, by id, those after `after_id`."""
        statement = select(InspectionRow)
        if query.plan_id is not None:
            statement = statement.where(InspectionRow.plan_id == query.plan_id)
        if query.inspector_id is not None:
            # The team is a comma-separated list: match the whole id between its commas.
            team = literal(",", String) + col(InspectionRow.inspectors) + literal(",", String)
            statement = statement.where(team.contains(f",{query.inspector_id},", autoescape=True))
        if query.state is not None:
            statement = statement.where(InspectionRow.state == query.state)
        if query.region_code is not None:
            statement = statement.where(in_region(InspectionRow.region_code, query.region_code))
        if query.uscc is not None:
            statement = statement.where(InspectionRow.uscc == query.uscc)
        if after_id is not None:
            statement = statement.where(col(InspectionRow.id) > after_id)
        rows = self.session.exec(statement.order_by(col(InspectionRow.id)).limit(limit))
        return [_inspection(row) for row in rows]

    def published(
        self,
        region_code: str | None,
        today: date,
        after_id: str | None,
        limit: int,
        plan_id: str | None = None,
    ) -> list[PublishedResult]:
        """Completed results whose publication date has come, newest id first, with the enterprise name."""
        statement = (
            select(InspectionRow, EnterpriseCopyRow.display_name)
            .join(EnterpriseCopyRow, col(EnterpriseCopyRow.uscc) == col(InspectionRow.uscc), isouter=True)
            .where(col(InspectionRow.publish_date).is_not(None), col(InspectionRow.publish_date) <= today)
        )
        if region_code:
            statement = statement.where(in_region(InspectionRow.region_code, region_code))
        if plan_id is not None:
            statement = statement.where(InspectionRow.plan_id == plan_id)
        if after_id is not None:
            statement = statement.where(col(InspectionRow.id) < after_id)
        statement = statement.order_by(col(InspectionRow.id).desc()).limit(limit)
        return [PublishedResult(_inspection(row), name or "") for row, name in self.session.exec(statement)]
