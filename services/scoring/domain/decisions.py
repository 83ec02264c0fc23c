"""What a list of decision records asks for (appeals, credit repair applications, serious-dishonesty
listings): whose, where, in what state, and where a page starts. Pure Python."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime


@dataclass(frozen=True)
class DecisionQuery:
    """The conjunction of a decision list's parent and filter; None means "any"."""

    uscc: str | None = None  # one enterprise (the parent `enterprises/{uscc}`)
    region_code: str | None = None  # a division: its children are included
    state: str | None = None  # appeals and applications: the state's name without its prefix
    active: bool | None = None  # appeals: the override still holds; listings: not removed

    def with_region(self, region_code: str) -> DecisionQuery:
        return replace(self, region_code=region_code)

    def with_uscc(self, uscc: str) -> DecisionQuery:
        return replace(self, uscc=uscc)

    def canonical(self) -> str:
        """One spelling per meaning, bound into page tokens."""
        return json.dumps([self.uscc, self.region_code, self.state, self.active])


@dataclass(frozen=True)
class DecisionCursor:
    """The last record of a page: the next page starts strictly after it (time order, id as tie-breaker)."""

    time: datetime
    id: str
