"""Every label of the console in Chinese (first) and English, enum labels, the advice that goes with a
grade's reasons, and dates in China time.

A page asks `t(key)` for a label; a missing key is a programming error caught by the tests (every key of
every template exists in both languages).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from google.protobuf.timestamp_pb2 import Timestamp

from console.labels import ENUMS, MESSAGES
from shared.regions import divisions

# The province whose cities the public pages and the sign-in offer first (the demo province's).
HOME_PROVINCE = "610000"

CHINA = ZoneInfo("Asia/Shanghai")
LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

# What an enterprise can do about each reason code of its grade (the policy's reason codes).
ADVICE: dict[str, tuple[str, str]] = {
    "SERIOUS_VIOLATION": (
        "整改到位、缴清罚款后，满一年可申请信用修复。",
        "Rectify and pay the penalty; after a year you may apply for credit repair.",
    ),
    "REFUSED_INSPECTION": (
        "配合监督检查；满足条件后可申请信用修复。",
        "Cooperate with inspections; you may apply for credit repair once eligible.",
    ),
    "FALSE_CAPABILITY_DECLARATION": (
        "如实重新声明计量能力，满足条件后申请信用修复。",
        "Declare your measurement capability truthfully again and apply for credit repair once eligible.",
    ),
    "MANY_OVERDUE_INSTRUMENTS": (
        "尽快将逾期或不合格的强检器具送检。",
        "Have your overdue or failed instruments verified without delay.",
    ),
    "INSTRUMENTS_OVERDUE_OR_FAILED": (
        "按周期送检强检器具，停用不合格器具。",
        "Verify instruments on their cycle and stop using failed ones.",
    ),
    "REGISTRY_INSTRUMENTS_OVERDUE": (
        "按周期送检强检器具。",
        "Have your instruments verified on their cycle.",
    ),
    "LATE_VERIFICATIONS": ("提前安排检定，避免逾期。", "Book verifications before they fall due."),
    "INSPECTION_VIOLATIONS": (
        "落实整改，保持计量合规，后续合格检查会提升等级。",
        "Rectify and stay compliant: compliant inspections raise the grade over time.",
    ),
    "SUBSTANTIATED_COMPLAINTS": (
        "核实并解决被投诉的问题，改进计量管理。",
        "Resolve what customers complained about and improve your measurement practice.",
    ),
    "RECTIFICATION_OVERDUE": ("按期完成整改。", "Complete rectification by its deadline."),
    "NET_CONTENT_SHORTFALL": (
        "加强定量包装商品净含量控制。",
        "Tighten the net-content control of your prepackaged goods.",
    ),
    "NO_COMMITMENT": (
        "作出诚信计量自我承诺并公示承诺码。",
        "Make your integrity commitment and display its public code.",
    ),
    "COMMITMENT_BREACHED": (
        "兑现承诺，重新作出承诺。",
        "Keep your commitment, and make a new one.",
    ),
    "CAPABILITY_NOT_CERTIFIED": (
        "建立测量管理体系（ISO 10012）并声明计量能力。",
        "Set up a measurement management system (ISO 10012) and declare your capability.",
    ),
    "NO_HISTORY": (
        "暂无检查记录，等级为暂定；作出承诺、按期检定有助于评级。",
        "No inspection yet, so the grade is provisional; a commitment and timely verification help.",
    ),
}


def t(key: str, lang: str) -> str:
    """The label `key` in `lang`; KeyError for a key that does not exist (a bug, found by the tests)."""
    zh, en = MESSAGES[key]
    return en if lang == "en" else zh


def enum_label(enum_name: str, value: int | str, lang: str) -> str:
    """The label of an enum value (by number or full name), e.g. ("GradeLevel", 4) -> "D"."""
    labels = ENUMS[enum_name]
    entry = labels.get(value if isinstance(value, str) else _name_of(enum_name, value))
    if entry is None:
        return str(value)
    return entry[1] if lang == "en" else entry[0]


def enum_options(enum_name: str, lang: str) -> list[tuple[str, str]]:
    """(full value name, label) of every specified value, for a select."""
    return [(name, pair[1] if lang == "en" else pair[0]) for name, pair in ENUMS[enum_name].items()]


def advice(code: str, lang: str) -> str:
    pair = ADVICE.get(code)
    return "" if pair is None else (pair[1] if lang == "en" else pair[0])


def china_time(moment: Timestamp | datetime | None, with_time: bool = True) -> str:
    """A time in China (UTC+8), e.g. "2026-03-01 14:05"; empty when unset."""
    if moment is None:
        return ""
    if isinstance(moment, Timestamp):
        if not moment.seconds and not moment.nanos:
            return ""
        moment = moment.ToDatetime(tzinfo=UTC)
    local = moment.astimezone(CHINA)
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def _name_of(enum_name: str, number: int) -> str:
    from console.labels import ENUM_TYPES

    return ENUM_TYPES[enum_name].Name(number) if number in ENUM_TYPES[enum_name].values() else str(number)


def division_name(code: str) -> str:
    """The division's own name (610100 -> 西安市), or the code when it is not on the GB/T 2260 list."""
    return divisions().get(code, code)


def child_divisions(region: str = HOME_PROVINCE) -> dict[str, str]:
    """Code -> name of the divisions directly inside `region`: a province's cities, a city's counties."""
    if region.endswith("0000"):
        return {
            c: n for c, n in divisions().items() if c[:2] == region[:2] and c.endswith("00") and c != region
        }
    if region.endswith("00"):
        return {c: n for c, n in divisions().items() if c[:4] == region[:4] and c != region}
    return {}
