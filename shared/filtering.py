"""AIP-160 filters as the List methods accept them: `field = value` terms joined by AND. Pure Python.

Each list method names its fields and turns the raw values into its own query; the grammar, the
quoting and the error messages live here once. A value may be a bare word or a quoted string ("..." or
'...', backslash escapes). Anything the grammar does not allow (OR, NOT, other operators, a repeated
field) is INVALID_ARGUMENT on `filter` with a message saying what and where.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from shared.errors import FieldViolation, IntegrityError, invalid_argument

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|<=|>=|=|<|>|:|\(|\)|-|\*|~|!)
      | (?P<word>[^\s"'=!<>:()~*]+)
      | (?P<unterminated>["'])
    )""",
    re.VERBOSE,
)


def filter_error(description: str) -> IntegrityError:
    return invalid_argument([FieldViolation("filter", description)])


def parse_conjunction(text: str, fields: Sequence[str]) -> dict[str, str]:
    """The terms of `text` as {field: unquoted value}, each of `fields` at most once."""
    tokens = _tokens(text)
    values: dict[str, str] = {}
    index = 0
    while index < len(tokens):
        kind, field = tokens[index]
        if kind != "word":
            raise filter_error(f"expected a field name, got {field!r}")
        if field in ("OR", "NOT"):
            raise filter_error(f"{field} is not supported; terms can only be joined by AND")
        if field not in fields:
            raise filter_error(f"unknown field {field!r}; filterable fields are {', '.join(fields)}")
        if index + 1 >= len(tokens):
            raise filter_error(f"expected '=' after {field}")
        _, op = tokens[index + 1]
        if op != "=":
            raise filter_error(f"only '=' is supported, got {op!r} after {field}")
        if index + 2 >= len(tokens):
            raise filter_error(f"expected a value after '{field} ='")
        if field in values:
            raise filter_error(f"{field} appears more than once; terms are AND-joined, so use it once")
        value_kind, value = tokens[index + 2]
        if value_kind not in ("string", "word"):
            raise filter_error(f"expected a value after '{field} =', got {value!r}")
        values[field] = _unquote(value) if value_kind == "string" else value
        index += 3
        if index < len(tokens):
            _, word = tokens[index]
            if word == "OR":
                raise filter_error("OR is not supported; terms can only be joined by AND")
            if word != "AND":
                raise filter_error(f"expected AND between terms, got {word!r}")
            index += 1
            if index >= len(tokens):
                raise filter_error("the filter ends with AND; a term must follow it")
    return values


def enum_value(field: str, text: str, enum: EnumTypeWrapper, prefix: str) -> int:
    """The number of a non-zero value of `enum`, named with or without `prefix`."""
    full = text if text.startswith(prefix) else prefix + text
    by_name = enum.DESCRIPTOR.values_by_name
    if full in by_name and by_name[full].number != 0:
        return int(by_name[full].number)
    known = ", ".join(name for name, value in by_name.items() if value.number != 0)
    raise filter_error(f"{field}: {text!r} is not a value of {enum.DESCRIPTOR.name}; use one of {known}")


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text) and text[position:].strip():
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise filter_error(f"cannot read the filter at character {position + 1}")
        if match.lastgroup == "unterminated":
            raise filter_error(f"unterminated string starting at character {match.start('unterminated') + 1}")
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    return tokens


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])
