"""Industry codes of GB/T 4754-2017 (国民经济行业分类): section letter, division, group, class.

A code is a division (2 digits), group (3) or class (4), optionally led by its section letter:
"F", "F52", "F526", "F5265" name retail trade at growing precision ("52", "526", "5265" without the
letter). Validation is structural: the division must lie in its section's range and a given letter must
be that section; the full list of classes is not shipped. The canonical form is letter + digits.
"""

from __future__ import annotations

# Section letter -> first and last division (inclusive). Divisions 01-97 are contiguous across sections.
SECTION_DIVISIONS: dict[str, tuple[int, int]] = {
    "A": (1, 5), "B": (6, 12), "C": (13, 43), "D": (44, 46), "E": (47, 50), "F": (51, 52),
    "G": (53, 60), "H": (61, 62), "I": (63, 65), "J": (66, 69), "K": (70, 70), "L": (71, 72),
    "M": (73, 75), "N": (76, 79), "O": (80, 82), "P": (83, 83), "Q": (84, 85), "R": (86, 90),
    "S": (91, 96), "T": (97, 97),
}  # fmt: skip

SECTION_NAMES: dict[str, str] = {
    "A": "农、林、牧、渔业", "B": "采矿业", "C": "制造业", "D": "电力、热力、燃气及水生产和供应业",
    "E": "建筑业", "F": "批发和零售业", "G": "交通运输、仓储和邮政业", "H": "住宿和餐饮业",
    "I": "信息传输、软件和信息技术服务业", "J": "金融业", "K": "房地产业", "L": "租赁和商务服务业",
    "M": "科学研究和技术服务业", "N": "水利、环境和公共设施管理业", "O": "居民服务、修理和其他服务业",
    "P": "教育", "Q": "卫生和社会工作", "R": "文化、体育和娱乐业", "S": "公共管理、社会保障和社会组织",
    "T": "国际组织",
}  # fmt: skip

_EXAMPLE = 'e.g. "F5265" or "5265" (GB/T 4754-2017)'


def _section_for_division(division: int) -> str | None:
    for letter, (first, last) in SECTION_DIVISIONS.items():
        if first <= division <= last:
            return letter
    return None


def _split(code: str) -> tuple[str | None, str]:
    """(letter or None, digits) of a code as given; letters are taken case-insensitively."""
    if code[:1].isascii() and code[:1].isalpha():
        return code[0].upper(), code[1:]
    return None, code


def industry_problem(code: str) -> str | None:
    """Why `code` is not a GB/T 4754-2017 division, group or class code; None when it is well formed."""
    if not code:
        return f"is required, {_EXAMPLE}"
    letter, digits = _split(code)
    if not (2 <= len(digits) <= 4 and digits.isascii() and digits.isdigit()):
        return f"must be 2-4 digits (division, group or class), maybe after the section letter, {_EXAMPLE}"
    if letter is not None and letter not in SECTION_DIVISIONS:
        return f"{letter!r} is not a section of GB/T 4754-2017 (A-T)"
    section = _section_for_division(int(digits[:2]))
    if section is None:
        return f"division {digits[:2]!r} does not exist in GB/T 4754-2017 (01-97)"
    if letter is not None and letter != section:
        return f"division {digits[:2]} belongs to section {section} ({SECTION_NAMES[section]}), not {letter}"
    # Groups are numbered from 1 within their division; a class may end in 0 (a group not subdivided).
    if len(digits) >= 3 and digits[2] == "0":
        return f"group digit (the third) cannot be 0: groups of division {digits[:2]} are numbered from 1"
    return None


def is_valid_industry(code: str) -> bool:
    return industry_problem(code) is None


def section_of(code: str) -> str:
    """The section letter of a valid code: "5265" -> "F". Raises ValueError for an invalid code."""
    problem = industry_problem(code)
    if problem is not None:
        raise ValueError(f"industry code {code!r}: {problem}")
    _, digits = _split(code)
    section = _section_for_division(int(digits[:2]))
    assert section is not None  # industry_problem checked the division
    return section


def normalize_industry(code: str) -> str:
    """The canonical form, section letter + digits: "5265" and "f5265" -> "F5265". ValueError if invalid."""
    _, digits = _split(code)
    return section_of(code) + digits
