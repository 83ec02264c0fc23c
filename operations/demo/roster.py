"""The demo province's inspectors (执法人员): a roster per city, so a plan can be drawn straight after the
first `make run` (双随机: the inspectors are drawn too, and a plan without enough qualified inspectors is
FAILED_PRECONDITION).

Each city gets about two inspectors per million inhabitants (at least six), badge numbers from the city's
initials (西安 XA001, XA002, ...), and three of the six qualifications each, in rotation, so every
qualification is held by several inspectors of every city. They are created through the inspections
service's own use case, as a system caller would with CreateInspector; one that exists already is left as
it is. The names are placeholders, not people.
"""

from __future__ import annotations

from dataclasses import dataclass

from operations.demo.shaanxi import CITIES
from shared.settings import Settings

# City code -> badge prefix (the city's pinyin initials).
BADGE_PREFIXES: dict[str, str] = {
    "610100": "XA", "610200": "TC", "610300": "BJ", "610400": "XY", "610500": "WN",
    "610600": "YA", "610700": "HZ", "610800": "YL", "610900": "AK", "611000": "SL",
}  # fmt: skip
PER_MILLION = 2
MINIMUM = 6
QUALIFICATIONS_EACH = 3


@dataclass(frozen=True)
class Officer:
    badge: str
    display_name: str
    region_code: str
    qualifications: tuple[int, ...]


def roster() -> list[Officer]:
    """Every demo inspector, city by city."""
    from integrity.inspections.v1 import inspections_pb2

    kinds = sorted(v for v in inspections_pb2.Qualification.values() if v != 0)
    officers = []
    for city, (name, millions, _) in CITIES.items():
        for number in range(1, max(MINIMUM, round(PER_MILLION * millions)) + 1):
            held = tuple(sorted(kinds[(number + k) % len(kinds)] for k in range(QUALIFICATIONS_EACH)))
            badge = f"{BADGE_PREFIXES[city]}{number:03d}"
            officers.append(Officer(badge, f"{name}市执法人员{number:02d}", city, held))
    return officers


def load_roster(settings: Settings) -> int:
    """Creates the roster in the inspections database; returns how many inspectors were new."""
    from services.inspections.adapters.tables import TABLES
    from services.inspections.adapters.unit_of_work import InspectionsUnitOfWork
    from services.inspections.use_cases.inspectors import create_inspector
    from shared.auth import Principal, Role
    from shared.db import create_tables, make_engine
    from shared.errors import ErrorKind, IntegrityError

    engine = make_engine(settings.database_url("inspections"))
    demo = Principal("demo-province", Role.SYSTEM)
    created = 0
    try:
        create_tables(engine, TABLES)
        for officer in roster():
            try:
                create_inspector(
                    InspectionsUnitOfWork(engine),
                    officer.badge,
                    officer.display_name,
                    officer.region_code,
                    list(officer.qualifications),
                    demo,
                )
            except IntegrityError as exc:
                if exc.kind != ErrorKind.ALREADY_EXISTS:
                    raise
                continue
            created += 1
    finally:
        engine.dispose()
    return created
