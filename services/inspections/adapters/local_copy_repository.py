"""Where the local copy of enterprises is kept (the registry's facts, grades and triggers a plan draws
from), returning domain objects."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields

from sqlmodel import select

from services.inspections.adapters.repository import SqlRepository, in_region
from services.inspections.adapters.tables import EnterpriseCopyRow
from services.inspections.domain.local_copy import ACTIVE, EnterpriseCopy

# The copy's fields and the row's columns have the same names.
_COPY_FIELDS = tuple(field.name for field in fields(EnterpriseCopy))


def _copy(row: EnterpriseCopyRow) -> EnterpriseCopy:
    return EnterpriseCopy(**{name: getattr(row, name) for name in _COPY_FIELDS})


class SqlEnterpriseCopyRepository(SqlRepository):
    def get(self, uscc: str) -> EnterpriseCopy:
        """The copy of `uscc`; a blank one (region from the USCC) when first heard of."""
        row = self.session.get(EnterpriseCopyRow, uscc)
        return _copy(row) if row is not None else EnterpriseCopy.first_heard_of(uscc)

    def save(self, copy: EnterpriseCopy) -> None:
        row = self.session.get(EnterpriseCopyRow, copy.uscc) or EnterpriseCopyRow(uscc=copy.uscc)
        for name in _COPY_FIELDS:
            setattr(row, name, getattr(copy, name))
        self.session.add(row)

    def active_in(self, region_code: str, subject_type: int) -> list[EnterpriseCopy]:
        """The region's active enterprises (of `subject_type` unless 0): a plan's population."""
        statement = select(EnterpriseCopyRow).where(
            in_region(EnterpriseCopyRow.region_code, region_code), EnterpriseCopyRow.status == ACTIVE
        )
        if subject_type:
            statement = statement.where(EnterpriseCopyRow.subject_type == subject_type)
        return [_copy(row) for row in self.session.exec(statement)]

    def clear_triggers(self, usccs: Iterable[str]) -> None:
        for uscc in usccs:
            row = self.session.get(EnterpriseCopyRow, uscc)
            if row is not None and row.trigger:
                row.trigger = ""
                self.session.add(row)
