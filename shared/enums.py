"""Enum numbers from a newer producer: kept and named, never a crash.

Proto3 enums are open: an event from a service upgraded before its consumers can carry a number the
consumer's generated code does not know (a new SubjectType, say). `EnumType.Name(number)` raises on it;
`enum_name` names it `<PREFIX>UNKNOWN_<number>` instead, so the consumer records what it was told, treats
it as the unknown value it is (a scorecard gives an unknown category its default points), and the event
behind it is not held up.
"""

from __future__ import annotations

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper


def enum_name(enum: EnumTypeWrapper, number: int) -> str:
    """The name of `number` in `enum`, e.g. SUBJECT_TYPE_UTILITY; SUBJECT_TYPE_UNKNOWN_9 for one it lacks."""
    value = enum.DESCRIPTOR.values_by_number.get(number)
    if value is not None:
        return value.name
    return f"{unknown_prefix(enum)}UNKNOWN_{number}"


def is_known(enum: EnumTypeWrapper, number: int) -> bool:
    return number in enum.DESCRIPTOR.values_by_number


def unknown_prefix(enum: EnumTypeWrapper) -> str:
    """The prefix its values share (AIP-126: the zero value is <PREFIX>UNSPECIFIED)."""
    zero = enum.DESCRIPTOR.values_by_number.get(0)
    return zero.name.removesuffix("UNSPECIFIED") if zero is not None else f"{enum.DESCRIPTOR.name.upper()}_"
