"""Every label a page or a form error asks for exists in Chinese and in English, every enum value a page
shows has a label, and times are shown in China time."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console import i18n
from console.labels import ENUM_TYPES, ENUMS, MESSAGES

CONSOLE = Path(__file__).resolve().parents[3] / "console"
# Keys a page builds at run time from a prefix and a value (enum-like), with the values they take.
DYNAMIC = {
    "level.": "ABCD",
    "plans.level_": "ABCDU",
    "role.": ("regulator", "inspector", "enterprise", "public", "system"),
    "item.": ("instruments", "net_content", "capability_declaration", "inspection_refused"),
    "rule.": ("SERIOUS_VIOLATION", "REFUSED_INSPECTION", "FALSE_CAPABILITY_DECLARATION"),
}


def keys_used() -> set[str]:
    found: set[str] = set()
    for path in CONSOLE.rglob("*"):
        if path.suffix not in (".html", ".py"):
            continue
        text = path.read_text()
        found |= set(re.findall(r"""\bt\(\s*["']([a-z_]+\.[A-Za-z0-9_.]+)["']\s*\)""", text))
        found |= set(re.findall(r"""BadForm\(\s*["']([a-z_]+\.[a-z_]+)["']""", text))
        named = re.findall(r"""["']((?:error|common)\.[a-z_]+)["']""", text)
        found |= {key for key in named if key != "error.html"}  # a template's name, not a label
    for prefix, values in DYNAMIC.items():
        found |= {f"{prefix}{value}" for value in values}
    return found


def test_every_label_used_exists_in_both_languages() -> None:
    used = keys_used()
    assert len(used) > 150
    assert sorted(used - MESSAGES.keys()) == []
    for key in used:
        zh, en = MESSAGES[key]
        assert zh.strip() and en.strip(), key
        assert zh != en or key in ("nav.language",) or zh.isascii(), key  # translated, not copied


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_every_enum_value_has_a_label(name: str) -> None:
    values = [v for v in ENUM_TYPES[name].DESCRIPTOR.values_by_name if not v.endswith("_UNSPECIFIED")]
    if name == "FindingStatus":  # the inspection form offers the three an inspector records
        values = [v for v in values if v in ENUMS[name]]
    assert sorted(ENUMS[name]) == sorted(values)
    assert i18n.enum_label(name, ENUM_TYPES[name].Value(values[0]), "en") == ENUMS[name][values[0]][1]


def test_times_are_shown_in_china() -> None:
    assert i18n.china_time(datetime(2026, 9, 30, 16, 30, tzinfo=UTC)) == "2026-10-01 00:30"
    assert i18n.china_time(None) == ""


def test_json_embedded_in_a_page_cannot_end_its_script_element() -> None:
    import json

    from console.web import embedded_json

    value = {"name": "</script><script>alert(1)</script>", "zh": "西安市"}
    text = embedded_json(value)
    assert "<" not in text and ">" not in text and "西安市" in text
    assert json.loads(text) == value
