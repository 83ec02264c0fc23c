"""Scoring's SQL repositories of the regulators' decisions on grades: appeals and credit repairs (ORM rows:
they are written one at a time, by an API call)."""

from __future__ import annotations

from dataclasses import asdict

from sqlmodel import select

from services.scoring.adapters.repository import SqlRepository, as_utc
from services.scoring.adapters.tables import AppealRow, CreditRepairRow
from services.scoring.domain.appeals import PENDING, Appeal
from services.scoring.domain.grades import GradeLevel
from services.scoring.domain.repairs import CreditRepair


class SqlAppealRepository(SqlRepository):
    def get(self, appeal_id: str) -> Appeal | None:
        row = self.session.get(AppealRow, appeal_id)
        return None if row is None else _appeal_of(row)

    def by_request_id(self, uscc: str, request_id: str) -> Appeal | None:
        statement = select(AppealRow).where(AppealRow.uscc == uscc, AppealRow.request_id == request_id)
        row = self.session.exec(statement).first()
        return None if row is None else _appeal_of(row)

    def pending_of(self, uscc: str) -> Appeal | None:
        statement = select(AppealRow).where(AppealRow.uscc == uscc, AppealRow.state == PENDING)
        row = self.session.exec(statement).first()
        return None if row is None else _appeal_of(row)

    def add(self, appeal: Appeal) -> None:
        self.session.add(AppealRow(**_appeal_values(appeal)))

    def save(self, appeal: Appeal) -> None:
        row = self.session.get(AppealRow, appeal.id)
        assert row is not None  # an appeal is saved after it was read
        for field, value in _appeal_values(appeal).items():
            setattr(row, field, value)
        self.session.add(row)


class SqlCreditRepairRepository(SqlRepository):
    def by_request_id(self, uscc: str, request_id: str) -> CreditRepair | None:
        statement = select(CreditRepairRow).where(
            CreditRepairRow.uscc == uscc, CreditRepairRow.request_id == request_id
        )
        row = self.session.exec(statement).first()
        return None if row is None else _repair_of(row)

    def add(self, repair: CreditRepair) -> None:
        self.session.add(CreditRepairRow(**asdict(repair)))


def _appeal_values(appeal: Appeal) -> dict[str, object]:
    return {
        "id": appeal.id,
        "uscc": appeal.uscc,
        "reason": appeal.reason,
        "state": appeal.state,
        "appealed_level": int(appeal.appealed_level),
        "filed_by": appeal.filed_by,
        "request_id": appeal.request_id,
        "created_at": appeal.created_at,
        "decided_by": appeal.decided_by,
        "decision_reason": appeal.decision_reason,
        "decided_at": appeal.decided_at,
        "override_level": None if appeal.override_level is None else int(appeal.override_level),
        "override_expire_at": appeal.override_expire_at,
        "override_event_id": appeal.override_event_id,
    }


def _appeal_of(row: AppealRow) -> Appeal:
    return Appeal(
        id=row.id,
        uscc=row.uscc,
        reason=row.reason,
        state=row.state,
        appealed_level=GradeLevel(row.appealed_level),
        filed_by=row.filed_by,
        request_id=row.request_id,
        created_at=as_utc(row.created_at),
        decided_by=row.decided_by,
        decision_reason=row.decision_reason,
        decided_at=None if row.decided_at is None else as_utc(row.decided_at),
        override_level=None if row.override_level is None else GradeLevel(row.override_level),
        override_expire_at=None if row.override_expire_at is None else as_utc(row.override_expire_at),
        override_event_id=row.override_event_id,
    )


def _repair_of(row: CreditRepairRow) -> CreditRepair:
    return CreditRepair(
        id=row.id,
        uscc=row.uscc,
        rule_code=row.rule_code,
        reason=row.reason,
        decided_by=row.decided_by,
        request_id=row.request_id,
        created_at=as_utc(row.created_at),
        event_id=row.event_id,
    )
