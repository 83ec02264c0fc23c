"""Inspectors: the roster a plan draws its teams from."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from integrity.inspections.v1 import inspections_pb2
from services.inspections.domain.names import INSPECTOR_PREFIX, new_id
from shared.errors import FieldViolation, invalid_argument
from shared.regions import region_problem

DISPLAY_NAME_MAX = 50
QUALIFICATIONS = frozenset(v for v in inspections_pb2.Qualification.values() if v != 0)
UPDATABLE_INSPECTOR_FIELDS = ("available", "qualifications", "display_name")
_INSPECTOR_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")


@dataclass(frozen=True)
class Inspector:
    id: str
    display_name: str
    region_code: str
    qualifications: frozenset[int]
    available: bool
    create_time: datetime

    @property
    def name(self) -> str:
        return INSPECTOR_PREFIX + self.id


def validate_inspector(
    inspector_id: str, display_name: str, region_code: str, qualifications: list[int], now: datetime
) -> Inspector:
    violations: list[FieldViolation] = []
    if inspector_id and not _INSPECTOR_ID.fullmatch(inspector_id):
        violations.append(
            FieldViolation("inspector_id", "must be 1-40 letters, digits, '-' or '_', starting with one")
        )
    display_name = display_name.strip()
    if not display_name or len(display_name) > DISPLAY_NAME_MAX:
        violations.append(
            FieldViolation("inspector.display_name", f"is required, at most {DISPLAY_NAME_MAX} characters")
        )
    if (problem := region_problem(region_code)) is not None:
        violations.append(FieldViolation("inspector.region_code", problem))
    if not qualifications:
        violations.append(
            FieldViolation("inspector.qualifications", "at least one qualification is required")
        )
    for index, qualification in enumerate(qualifications):
        if qualification not in QUALIFICATIONS:
            violations.append(
                FieldViolation(
                    f"inspector.qualifications[{index}]", f"{qualification} is not a Qualification"
                )
            )
    if violations:
        raise invalid_argument(violations)
    return Inspector(
        id=inspector_id or f"i{new_id(now)}",
        display_name=display_name,
        region_code=region_code,
        qualifications=frozenset(qualifications),
        available=True,
        create_time=now,
    )


def update_inspector(
    inspector: Inspector, paths: list[str], *, available: bool, qualifications: list[int], display_name: str
) -> Inspector:
    """The inspector with the masked fields changed; INVALID_ARGUMENT on a bad mask or value."""
    unknown = [p for p in paths if p not in UPDATABLE_INSPECTOR_FIELDS]
    if not paths or unknown:
        raise invalid_argument(
            [
                FieldViolation(
                    "update_mask",
                    f"must name some of {', '.join(UPDATABLE_INSPECTOR_FIELDS)}"
                    + (f"; unknown: {', '.join(unknown)}" if unknown else ""),
                )
            ]
        )
    changed = validate_inspector(
        "",
        display_name if "display_name" in paths else inspector.display_name,
        inspector.region_code,
        qualifications if "qualifications" in paths else sorted(inspector.qualifications),
        inspector.create_time,
    )
    return replace(
        inspector,
        display_name=changed.display_name,
        qualifications=changed.qualifications,
        available=available if "available" in paths else inspector.available,
    )


def inspector_id_of(subject: str) -> str | None:
    """The id in a token subject `inspectors/{id}`; None when the subject is not an inspector name."""
    if subject.startswith(INSPECTOR_PREFIX) and _INSPECTOR_ID.fullmatch(subject[len(INSPECTOR_PREFIX) :]):
        return subject[len(INSPECTOR_PREFIX) :]
    return None
