"""Which inspections a list asks for (ListInspections): a plan's, an inspector's, in a state, a region's,
an enterprise's. Pure Python."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class InspectionQuery:
    """The conjunction of a ListInspections filter; None means "any"."""

    plan_id: str | None = None
    inspector_id: str | None = None  # assigned to it (lead or not)
    state: int | None = None  # an InspectionState number
    region_code: str | None = None  # a division: its children are included
    uscc: str | None = None

    def with_region(self, region_code: str) -> InspectionQuery:
        return replace(self, region_code=region_code)

    def with_inspector(self, inspector_id: str) -> InspectionQuery:
        return replace(self, inspector_id=inspector_id)

    def canonical(self) -> str:
        """One spelling per meaning, bound into page tokens."""
        return json.dumps([self.plan_id, self.inspector_id, self.state, self.region_code, self.uscc])
