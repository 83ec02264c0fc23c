"""Risk lists: enterprises with their current grades, riskiest first: by level (D first), then by violation
probability within a level (then by USCC), narrowed by a filter and read page by page after a cursor.

Level first: the level is what the policy decides (hard rules, hysteresis, a provisional floor, an
override), and a regulator inspects by level; the probability orders the enterprises within one."""

from __future__ import annotations

from dataclasses import dataclass, replace

from services.scoring.domain.grades import Grade, GradeLevel

LEVEL_PREFIX = "GRADE_LEVEL_"


@dataclass(frozen=True)
class RiskFilter:
    """The conjunction of a risk-list filter; None means "any"."""

    region_code: str | None = None  # a division: its children are included
    industry_code: str | None = None  # canonical: the finer codes under it are included
    level: GradeLevel | None = None
    subject_type: str | None = None  # a SubjectType name
    provisional: bool | None = None

    def with_region(self, region_code: str) -> RiskFilter:
        return replace(self, region_code=region_code)

    def canonical(self) -> str:
        """One spelling per meaning, so a page token survives whitespace and term order changes."""
        terms = []
        if self.industry_code is not None:
            terms.append(f'industry_code = "{self.industry_code}"')
        if self.level is not None:
            terms.append(f"level = {LEVEL_PREFIX}{self.level.name}")
        if self.region_code is not None:
            terms.append(f'region_code = "{self.region_code}"')
        if self.subject_type is not None:
            terms.append(f"subject_type = {self.subject_type}")
        if self.provisional is not None:
            terms.append(f"provisional = {str(self.provisional).lower()}")
        return " AND ".join(terms)


@dataclass(frozen=True)
class RiskCursor:
    """The last entry of a page: the next page starts strictly after it in risk order."""

    level: int  # GradeLevel number
    violation_probability: float
    uscc: str

    def sort_key(self) -> tuple[int, float, str]:
        """Ascending in risk-list order."""
        return (-self.level, -self.violation_probability, self.uscc)


@dataclass(frozen=True)
class RiskEntry:
    """One line of a risk list: the enterprise and its current grade."""

    uscc: str
    display_name: str
    region_code: str
    industry_code: str
    grade: Grade

    @property
    def cursor(self) -> RiskCursor:
        return RiskCursor(int(self.grade.level), self.grade.violation_probability, self.uscc)
