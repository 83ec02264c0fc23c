"""Resource names and identifiers of the inspections service's resources."""

from __future__ import annotations

import re
import secrets
from datetime import datetime

from shared.errors import FieldViolation, invalid_argument

INSPECTOR_PREFIX = "inspectors/"
PLAN_PREFIX = "inspectionPlans/"
INSPECTION_PREFIX = "inspections/"
_ID = re.compile(r"[0-9a-f]{24}")


def new_id(now: datetime) -> str:
    """24 hex digits: milliseconds since the epoch, then randomness, so ids sort by creation time."""
    return f"{int(now.timestamp() * 1000):012x}{secrets.token_hex(6)}"


def parse_name(name: str, prefix: str, field: str = "name") -> str:
    """The id in `{prefix}{id}` (a plan or an inspection); INVALID_ARGUMENT on `field` when malformed."""
    if name.startswith(prefix) and _ID.fullmatch(name[len(prefix) :]):
        return name[len(prefix) :]
    raise invalid_argument([FieldViolation(field, f"must be {prefix}{{id}}, got {name[:60]!r}")])
