"""Scoring's SQL repositories of the regulators' decisions on grades: appeals and credit repairs (ORM rows:
they are written one at a time, by an API call)."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col, select

from services.scoring.adapters.repository import SqlRepository, domain_of
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

    def save(self, appeal: Appeal, expected_state: str) -> bool:
        """Writes the decided appeal only while its stored state is still `expected_state` (PENDING): one
        statement, so two concurrent decisions cannot both win. False when another decided it first."""
        values = _appeal_values(appeal)
        del values["id"]
        result = self.session.execute(
            update(AppealRow)
            .where(col(AppealRow.id) == appeal.id, col(AppealRow.state) == expected_state)
            .values(**values)
        )
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]


class SqlCreditRepairRepository(SqlRepository):
    def by_request_id(self, uscc: str, request_id: str) -> CreditRepair | None:
        statement = select(CreditRepairRow).where(
            CreditRepairRow.uscc == uscc, CreditRepairRow.request_id == request_id
        )
        row = self.session.exec(statement).first()
        return None if row is None else domain_of(CreditRepair, row)

    def add(self, repair: CreditRepair) -> None:
        self.session.add(CreditRepairRow(**vars(repair)))


def _appeal_values(appeal: Appeal) -> dict[str, object]:
    return {
        **vars(appeal),
        "appealed_level": int(appeal.appealed_level),
        "override_level": None if appeal.override_level is None else int(appeal.override_level),
    }


def _appeal_of(row: AppealRow) -> Appeal:
    override = row.override_level
    return domain_of(
        Appeal,
        row,
        appealed_level=GradeLevel(row.appealed_level),
        override_level=None if override is None else GradeLevel(override),
    )
