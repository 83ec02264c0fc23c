"""Reading typed values out of a parsed TOML document while collecting every problem, each named by its
key, so a policy (or scorecard) file with several mistakes reports them all at once. Pure Python."""

from __future__ import annotations

import re
from typing import Any

from services.scoring.domain.grades import GradeLevel, Reason

REASON_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")


class Checker:
    """Reads typed values, collecting a problem per bad key and returning a harmless placeholder."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def problem(self, key: str, what: str) -> None:
        self.problems.append((key, what))

    def table(
        self, document: dict[str, Any], key: str, allowed: set[str], prefix: str = ""
    ) -> dict[str, Any]:
        value = document.get(key)
        key = prefix + key
        if not isinstance(value, dict):
            self.problem(key, "missing table" if value is None else f"must be a table, got {value!r}")
            return {}
        # A misplaced key (TOML puts plain keys after a [table] header inside that table) is caught here.
        unknown = sorted(set(value) - allowed)
        if unknown:
            self.problem(key, f"unknown keys {unknown}; known keys are {sorted(allowed)}")
        return value

    def text(self, document: dict[str, Any], key: str, prefix: str = "") -> str:
        value = document.get(key)
        if not isinstance(value, str) or not value.strip():
            self.problem(
                prefix + key, "missing" if value is None else f"must be a non-empty string, got {value!r}"
            )
            return ""
        return value

    def integer(
        self, document: dict[str, Any], key: str, prefix: str = "", minimum: int | None = None
    ) -> int:
        value = document.get(key)
        # bool is an int in Python; `true` is never a sensible number of points.
        if not isinstance(value, int) or isinstance(value, bool):
            self.problem(prefix + key, "missing" if value is None else f"must be an integer, got {value!r}")
            return 1
        if minimum is not None and value < minimum:
            self.problem(prefix + key, f"must be at least {minimum}, got {value}")
            return 1
        return value

    def positive_number(self, document: dict[str, Any], key: str, prefix: str = "") -> float:
        value = document.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool) or not value > 0:
            self.problem(
                prefix + key, "missing" if value is None else f"must be a positive number, got {value!r}"
            )
            return 1.0
        return float(value)

    def level(self, table: dict[str, Any], key: str, prefix: str, default: GradeLevel) -> GradeLevel:
        letter = self.text(table, key, prefix=prefix)
        try:
            return GradeLevel.parse(letter) if letter else default
        except ValueError as exc:
            self.problem(prefix + key, str(exc))
            return default

    def reason(self, table: dict[str, Any], code: str, prefix: str) -> Reason:
        """A reason: `code` (given, or read from the table by the caller) and the table's two texts."""
        if code and not REASON_CODE.match(code):
            self.problem(prefix + "code", f"must be UPPER_SNAKE_CASE, got {code!r}")
        return Reason(
            code, self.text(table, "text", prefix=prefix), self.text(table, "text_zh", prefix=prefix)
        )

    def shares(self, table: dict[str, Any], key: str, prefix: str) -> dict[str, float]:
        """Target shares of the grades D, C and B (A has the rest): each in (0, 1), summing below 1."""
        value = table.get(key)
        if not isinstance(value, dict) or set(value) != {"D", "C", "B"}:
            self.problem(
                prefix + key,
                "must be a table of D, C and B shares, e.g. { D = 0.10, C = 0.20, B = 0.40 }, "
                f"got {value!r}",
            )
            return {}
        shares = {}
        for level in ("D", "C", "B"):
            share = value[level]
            if not isinstance(share, int | float) or isinstance(share, bool) or not 0 < share < 1:
                self.problem(f"{prefix}{key}.{level}", f"must be a share between 0 and 1, got {share!r}")
                return {}
            shares[level] = float(share)
        if sum(shares.values()) >= 1:
            self.problem(prefix + key, f"D + C + B must leave a share for A, got {sum(shares.values()):g}")
            return {}
        return shares
