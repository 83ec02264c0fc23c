"""Bounds on every request, checked by the gRPC server before any use case sees it.

The limits are declared in one place, the `.proto` files: a field's `(integrity.bounds.v1.bounds)` option
gives its maximum length, whether it may span lines, and how many elements a repeated field may hold; a
field without it gets the defaults below. On top of those, whatever the field: no control characters in a
string (a multi-line one may hold line feeds, carriage returns and tabs), every Timestamp between 1900 and
2200, every double finite. The message walk is generic (strings, repeated fields, maps, nested messages,
Timestamps), so a field added to a `.proto` is bounded the day it is added.

A violation names the field and the limit, never the content: an error must not echo what it refused.
Domain rules (a deadline within a year, a USCC's check character) stay in the domains and come after.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from integrity.bounds.v1 import bounds_pb2
from shared.errors import FieldViolation, invalid_argument

DEFAULT_MAX_LENGTH = 200
DEFAULT_MAX_ITEMS = 100
# 1900-01-01T00:00:00Z and 2200-01-01T00:00:00Z: every time in the system lies between them.
EARLIEST_SECONDS = -2_208_988_800
LATEST_SECONDS = 7_258_118_400
MAX_VIOLATIONS = 10  # reported at most; the first ones are enough to act on

_LINE_BREAKS = frozenset("\n\r\t")
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
# Bidirectional overrides and isolates: text that displays otherwise than it reads ("Trojan source").
_BIDI_CONTROLS = frozenset(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]))
_TIMESTAMP = "google.protobuf.Timestamp"


@dataclass(frozen=True)
class Bounds:
    max_length: int
    multi_line: bool
    max_items: int


@cache
def bounds_of(field: FieldDescriptor) -> Bounds:
    """The field's declared bounds, the defaults filling what it leaves unset."""
    options = field.GetOptions()
    declared = (
        options.Extensions[bounds_pb2.bounds]
        if options.HasExtension(bounds_pb2.bounds)
        else bounds_pb2.FieldBounds()
    )
    return Bounds(
        max_length=declared.max_length or DEFAULT_MAX_LENGTH,
        multi_line=declared.multi_line,
        max_items=declared.max_items or DEFAULT_MAX_ITEMS,
    )


def check_request(message: Message) -> None:
    """INVALID_ARGUMENT naming every field (up to MAX_VIOLATIONS) that exceeds its bounds."""
    if found := violations(message):
        raise invalid_argument(found)


def violations(message: Message) -> list[FieldViolation]:
    found: list[FieldViolation] = []
    _walk(message, "", found)
    return found[:MAX_VIOLATIONS]


def _walk(message: Message, prefix: str, found: list[FieldViolation]) -> None:
    for field, value in message.ListFields():
        if len(found) >= MAX_VIOLATIONS:
            return
        path = f"{prefix}{field.name}"
        bounds = bounds_of(field)
        if not field.is_repeated:
            _check(field, bounds, value, path, found)
            continue
        if len(value) > bounds.max_items:
            found.append(
                FieldViolation(path, f"must have at most {bounds.max_items} elements, got {len(value)}")
            )
        elif _is_map(field):
            key_field, value_field = (
                field.message_type.fields_by_name["key"],
                field.message_type.fields_by_name["value"],
            )
            for key, element in value.items():
                _check(key_field, bounds_of(key_field), key, f"{path}[key]", found)
                _check(value_field, bounds_of(value_field), element, f"{path}[{key!r:.40}]", found)
        else:
            for index, element in enumerate(value):
                _check(field, bounds, element, f"{path}[{index}]", found)


def _check(
    field: FieldDescriptor, bounds: Bounds, value: Any, path: str, found: list[FieldViolation]
) -> None:
    """One value of `field` (an element, for a repeated field)."""
    problem: str | None = None
    if field.type == FieldDescriptor.TYPE_STRING:
        problem = text_problem(value, bounds)
    elif field.type == FieldDescriptor.TYPE_BYTES and len(value) > bounds.max_length:
        problem = f"must be at most {bounds.max_length:,} bytes, got {len(value):,}"
    elif field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT) and not math.isfinite(value):
        problem = "must be a finite number (not NaN or infinity)"
    elif field.type == FieldDescriptor.TYPE_MESSAGE:
        if field.message_type.full_name == _TIMESTAMP:
            problem = timestamp_problem(value.seconds, value.nanos)
        else:
            _walk(value, f"{path}.", found)
    if problem is not None:
        found.append(FieldViolation(path, problem))


def text_problem(text: str, bounds: Bounds) -> str | None:
    """What is wrong with a string under `bounds`, without quoting it; None when it is fine."""
    if len(text) > bounds.max_length:
        return f"must be at most {bounds.max_length:,} characters, got {len(text):,}"
    if text.isprintable():
        # Every character is printable: no line break, control character (Cc, Cs, Zl, Zp) or bidi control
        # (Cf), so nothing below can object (the common case, checked in C).
        return None
    for position, char in enumerate(text):
        if char in _LINE_BREAKS:
            if bounds.multi_line:
                continue
            return f"must be one line: no line breaks or tabs (U+{ord(char):04X} at position {position})"
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES or char in _BIDI_CONTROLS:
            return f"must not contain control characters (U+{ord(char):04X} at position {position})"
    return None


def timestamp_problem(seconds: int, nanos: int) -> str | None:
    if not 0 <= nanos <= 999_999_999:
        return "nanos must be between 0 and 999999999"
    if not EARLIEST_SECONDS <= seconds < LATEST_SECONDS:
        return "must be between 1900-01-01 and 2200-01-01 (UTC)"
    return None


def _is_map(field: FieldDescriptor) -> bool:
    message_type = field.message_type
    return bool(message_type is not None and message_type.GetOptions().map_entry)
