"""Unified social credit codes (统一社会信用代码), GB 32100-2015.

18 characters from a 31-character alphabet (no I, O, S, V, Z): registration authority, entity type,
six-digit administrative division, nine-character organisation code, and a check character.
"""

from __future__ import annotations

from functools import lru_cache

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18


def check_character(first17: str) -> str:
    """The check character for the first 17 characters (which must be from the alphabet)."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, _WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


@lru_cache(maxsize=65536)  # every event is checked on decode and again on ingest
def uscc_problem(code: str) -> str | None:
    """Why `code` is not a valid USCC, in words a person can act on; None when it is valid."""
    if len(code) != LENGTH:
        return f"must be {LENGTH} characters, got {len(code)}"
    bad = sorted({c for c in code if c not in _VALUE})
    if bad:
        return (
            f"contains characters outside GB 32100 (digits and A-Y without I, O, S, V, Z): {''.join(bad)!r}"
        )
    if not code[2:8].isdigit():
        return "characters 3-8 must be the six-digit administrative division code"
    expected = check_character(code[:17])
    if code[17] != expected:
        return f"check character is {code[17]!r} but should be {expected!r}: a character is mistyped"
    return None


def is_valid_uscc(code: str) -> bool:
    return uscc_problem(code) is None


def with_check_character(first17: str) -> str:
    """Completes 17 characters into a valid USCC (for test and demo data)."""
    return first17 + check_character(first17)
