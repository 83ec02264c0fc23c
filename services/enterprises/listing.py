"""ListEnterprises request parsing: AIP-160 filter, AIP-158 page size and opaque page tokens. Pure."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, replace

from integrity.enterprises.v1 import enterprises_pb2
from shared import pagination
from shared.errors import FieldViolation, invalid_argument
from shared.industries import industry_problem, normalize_industry
from shared.regions import region_contains, region_problem
from shared.uscc import uscc_problem


@dataclass(frozen=True)
class EnterpriseQuery:
    """Which enterprises to list; None means any. `region_code` includes the region's children."""

    region_code: str | None = None
    industry_code: str | None = None
    subject_type: int | None = None
    status: int | None = None
    # Set by authorization for an enterprise caller, never by the filter.
    uscc: str | None = None

    def fingerprint(self) -> str:
        """A short digest of the filter, so a page token cannot be reused with another filter."""
        return pagination.fingerprint(json.dumps(asdict(self), sort_keys=True, separators=(",", ":")))

    def within(self, region_code: str) -> EnterpriseQuery:
        return replace(self, region_code=region_code)

    def matches_region(self, region_code: str) -> bool:
        return self.region_code is None or region_contains(self.region_code, region_code)


# --- page size and token --------------------------------------------------------------------------


page_size_of = pagination.page_size


def encode_page_token(last_uscc: str, query: EnterpriseQuery) -> str:
    return pagination.encode_page_token(last_uscc, query.fingerprint())


def decode_page_token(token: str, query: EnterpriseQuery) -> str | None:
    """The USCC to continue after, or None for the first page; INVALID_ARGUMENT on `page_token`."""
    after = pagination.decode_page_token(token, query.fingerprint())
    if after is not None and (not isinstance(after, str) or uscc_problem(after)):
        raise pagination.invalid_page_token()
    return after


# --- AIP-160 filter -------------------------------------------------------------------------------

FILTER_FIELDS = ("region_code", "industry_code", "subject_type", "status")
_ENUMS = {"subject_type": enterprises_pb2.SubjectType, "status": enterprises_pb2.EnterpriseStatus}
_ENUM_PREFIX = {"subject_type": "SUBJECT_TYPE_", "status": "ENTERPRISE_STATUS_"}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|<=|>=|=|<|>|:|\(|\)|-|\*|~|!)
      | (?P<word>[^\s"'=!<>:()~*]+)
      | (?P<unterminated>["'])
    )""",
    re.VERBOSE,
)


def _filter_error(description: str) -> Exception:
    return invalid_argument([FieldViolation("filter", description)])


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = _TOKEN.match(text, position)
        if match is None or match.lastgroup is None:
            raise _filter_error(f"cannot read the filter at character {position + 1}")
        if match.lastgroup == "unterminated":
            start = match.start("unterminated") + 1
            raise _filter_error(f"unterminated string starting at character {start}")
        tokens.append((match.lastgroup, match.group(match.lastgroup)))
        position = match.end()
    return tokens


def _unquote(kind: str, text: str) -> str:
    if kind != "string":
        return text
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def _enum_value(field: str, kind: str, text: str) -> int:
    name = _unquote(kind, text)
    enum = _ENUMS[field]
    prefix = _ENUM_PREFIX[field]
    full = name if name.startswith(prefix) else prefix + name
    by_name = enum.DESCRIPTOR.values_by_name
    if full in by_name and by_name[full].number != 0:
        return int(by_name[full].number)
    known = ", ".join(name for name, value in by_name.items() if value.number != 0)
    raise _filter_error(f"{field}: {name!r} is not a value of {enum.DESCRIPTOR.name}; use one of {known}")


def _term_value(field: str, kind: str, text: str) -> str | int:
    if kind not in ("string", "word"):
        raise _filter_error(f"expected a value after '{field} =', got {text!r}")
    if field in _ENUMS:
        return _enum_value(field, kind, text)
    value = _unquote(kind, text)
    if field == "region_code":
        if (problem := region_problem(value)) is not None:
            raise _filter_error(f"region_code: {problem}")
        return value
    if (problem := industry_problem(value)) is not None:
        raise _filter_error(f"industry_code: {problem}")
    return normalize_industry(value)


def parse_filter(text: str) -> EnterpriseQuery:
    """Parses `field = value [AND field = value ...]`; INVALID_ARGUMENT on `filter` naming the problem."""
    tokens = _tokens(text)
    values: dict[str, str | int] = {}
    index = 0
    while index < len(tokens):
        kind, field = tokens[index]
        if kind != "word":
            raise _filter_error(f"expected a field name, got {field!r}")
        if field in ("OR", "NOT"):
            raise _filter_error(f"{field} is not supported; terms can only be joined by AND")
        if field not in FILTER_FIELDS:
            raise _filter_error(f"unknown field {field!r}; filterable fields are {', '.join(FILTER_FIELDS)}")
        if index + 1 >= len(tokens):
            raise _filter_error(f"expected '=' after {field}")
        _, op = tokens[index + 1]
        if op != "=":
            raise _filter_error(f"only '=' is supported, got {op!r} after {field}")
        if index + 2 >= len(tokens):
            raise _filter_error(f"expected a value after '{field} ='")
        if field in values:
            raise _filter_error(f"{field} appears more than once")
        values[field] = _term_value(field, *tokens[index + 2])
        index += 3
        if index < len(tokens):
            kind, word = tokens[index]
            if word == "OR":
                raise _filter_error("OR is not supported; terms can only be joined by AND")
            if word != "AND":
                raise _filter_error(f"expected AND between terms, got {word!r}")
            index += 1
            if index >= len(tokens):
                raise _filter_error("the filter ends with AND; a term must follow it")
    return EnterpriseQuery(**values)  # type: ignore[arg-type]
