"""Oversized and hostile input on every RPC of every service, generated from the protos.

Each method's valid request (the authorization matrix's, sent by a caller the method allows) is spoiled
one field at a time, through every field the request type reaches: a string over its declared length,
with a NUL, a bidi override or (where one line is expected) a line break; a Timestamp past 2200 or with
negative nanos; a NaN or an infinity; a repeated field with one element too many; integers at their
limits; enum numbers nobody declared; bytes that are no message at all.

What breaks a bound is INVALID_ARGUMENT naming the field, quoting nothing; anything else gets a clear
status; nothing is ever INTERNAL or UNKNOWN, and a refused call writes nothing in any database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import inspect, text

from operations import catalogue
from shared.bounds import bounds_of
from shared.db import make_engine
from tests.integration.four_services import Profile, World, four_services, request_class
from tests.integration.test_authorization_matrix import SCENARIOS, expected

pytestmark = pytest.mark.integration

NEVER = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DEADLINE_EXCEEDED}
INT_LIMITS = {
    FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
}
TIMESTAMP = "google.protobuf.Timestamp"
MAX_DEPTH = 4
ELEMENTS_AT_MOST = 2000  # a repeated field allowing more is not stuffed (the request would be megabytes)


@dataclass(frozen=True)
class Spoil:
    """One hostile change to a valid request: where, what, and whether a bound must refuse it."""

    path: tuple[FieldDescriptor, ...]
    what: str
    apply: Callable[[Message, FieldDescriptor], None]
    bound: bool  # the bounds must refuse it (INVALID_ARGUMENT on this field)

    @property
    def field(self) -> str:
        return ".".join(f.name for f in self.path)


def _value(value: Any) -> Callable[[Message, FieldDescriptor], None]:
    def apply(message: Message, field: FieldDescriptor) -> None:
        if field.is_repeated:
            getattr(message, field.name).append(value)
        else:
            setattr(message, field.name, value)

    return apply


def _timestamp(seconds: int, nanos: int) -> Callable[[Message, FieldDescriptor], None]:
    def apply(message: Message, field: FieldDescriptor) -> None:
        stamp = getattr(message, field.name).add() if field.is_repeated else getattr(message, field.name)
        stamp.seconds, stamp.nanos = seconds, nanos

    return apply


def _too_many(count: int) -> Callable[[Message, FieldDescriptor], None]:
    def apply(message: Message, field: FieldDescriptor) -> None:
        elements = getattr(message, field.name)
        del elements[:]
        for _ in range(count):
            if field.type == FieldDescriptor.TYPE_MESSAGE:
                elements.add()
            elif field.type == FieldDescriptor.TYPE_STRING:
                elements.append("x")
            else:
                elements.append(field.default_value if not isinstance(field.default_value, list) else 0)

    return apply


def _leaf_spoils(
    field: FieldDescriptor,
) -> list[tuple[str, Callable[[Message, FieldDescriptor], None], bool]]:
    bounds = bounds_of(field)
    spoils: list[tuple[str, Callable[[Message, FieldDescriptor], None], bool]] = []
    if field.type == FieldDescriptor.TYPE_STRING:
        spoils += [
            ("over its length", _value("界" * (bounds.max_length + 1)), True),
            ("a NUL", _value("a\x00b"), True),
            ("a bidi override", _value("abc\u202edcba"), True),
        ]
        if not bounds.multi_line:
            spoils.append(("a line break", _value("a\nb"), True))
    elif field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        spoils += [("NaN", _value(math.nan), True), ("infinity", _value(-math.inf), True)]
    elif field.type in INT_LIMITS:
        low, high = INT_LIMITS[field.type]
        spoils += [("its lowest", _value(low), False), ("its highest", _value(high), False)]
    elif field.type == FieldDescriptor.TYPE_ENUM:
        spoils += [("an undeclared enum number", _value(99), False), ("a negative enum", _value(-7), False)]
    elif field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.full_name == TIMESTAMP:
        spoils += [
            ("year 31 million", _timestamp(10**15, 0), True),
            ("negative nanos", _timestamp(1_800_000_000, -1), True),
        ]
    if field.is_repeated and bounds.max_items < ELEMENTS_AT_MOST:
        spoils.append(("one element too many", _too_many(bounds.max_items + 1), True))
    return spoils


def spoils_of(descriptor: Descriptor, prefix: tuple[FieldDescriptor, ...] = ()) -> list[Spoil]:
    """Every hostile change the request type `descriptor` admits, through its nested messages."""
    found: list[Spoil] = []
    for field in descriptor.fields:
        path = (*prefix, field)
        found += [Spoil(path, what, apply, bound) for what, apply, bound in _leaf_spoils(field)]
        nested = field.message_type
        if (
            nested is not None
            and nested.full_name != TIMESTAMP
            and not nested.GetOptions().map_entry
            and len(path) < MAX_DEPTH
        ):
            found += spoils_of(nested, path)
    return found


def spoiled(request: Message, spoil: Spoil) -> Message:
    """A copy of `request` with the spoil applied at its path (creating the messages on the way)."""
    copy = type(request)()
    copy.CopyFrom(request)
    message = copy
    for field in spoil.path[:-1]:
        value = getattr(message, field.name)
        message = (value[0] if len(value) else value.add()) if field.is_repeated else value
    spoil.apply(message, spoil.path[-1])
    return copy


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from four_services(Path(tmp_path_factory.mktemp("hostile")))


@pytest.fixture(scope="module")
def digest(world: World) -> Iterator[Callable[[], tuple[int, ...]]]:
    """Row counts of every table of every service: what a call could have added."""
    engines = [make_engine(world.settings.database_url(s.name)) for s in catalogue.SERVICES]
    counts = [
        text(
            " UNION ALL ".join(
                f'SELECT count(*) FROM "{table}"' for table in inspect(engine).get_table_names()
            )
        )
        for engine in engines
    ]

    def count() -> tuple[int, ...]:
        found: list[int] = []
        for engine, statement in zip(engines, counts, strict=True):
            with engine.connect() as connection:
                found += connection.execute(statement).scalars()
        return tuple(found)

    yield count
    for engine in engines:
        engine.dispose()


def caller(world: World, method: str) -> Profile:
    """A caller the method admits on region IN's resources: bounds are checked after authorization."""
    target = world.targets["IN"]
    for profile in world.profiles:
        if expected(method, profile, target):
            return profile
    raise AssertionError(f"nobody may call {method}")


def field_violations(error: grpc.RpcError) -> list[str]:
    status = rpc_status.from_call(error)  # type: ignore[arg-type]
    bad_request = error_details_pb2.BadRequest()
    for detail in status.details if status is not None else ():
        if detail.Unpack(bad_request):
            # Without element indexes: `requests[0].instrument` is the spoil of `requests.instrument`.
            return [re.sub(r"\[\d+\]", "", v.field) for v in bad_request.field_violations]
    return []


@pytest.mark.parametrize("method", sorted(catalogue.method_roles()))
def test_hostile_input_gets_a_clear_status_and_a_refusal_writes_nothing(
    world: World, digest: Callable[[], tuple[int, ...]], method: str
) -> None:
    profile = caller(world, method)
    valid = SCENARIOS[method].request(world, world.targets["IN"])
    spoils = spoils_of(request_class(method).DESCRIPTOR)
    assert spoils, f"{method}: its request has no field to spoil"
    wrong: list[str] = []
    for spoil in spoils:
        request = spoiled(valid, spoil)
        before = digest()
        try:
            world.call(method, request, profile.metadata)
        except grpc.RpcError as error:
            code, details = error.code(), error.details() or ""
            if code in NEVER:
                wrong.append(f"{spoil.field} with {spoil.what}: {code.name} {details[:200]}")
            if spoil.bound and (
                code != grpc.StatusCode.INVALID_ARGUMENT or spoil.field not in field_violations(error)
            ):
                wrong.append(f"{spoil.field} with {spoil.what}: {code.name}, not INVALID_ARGUMENT on it")
            if len(details.encode()) > 600 or "界界界界" in details:
                wrong.append(
                    f"{spoil.field} with {spoil.what}: the error echoes the input ({len(details)} chars)"
                )
            if digest() != before:
                wrong.append(f"{spoil.field} with {spoil.what}: refused with {code.name} but wrote something")
        else:
            if spoil.bound:
                wrong.append(f"{spoil.field} with {spoil.what}: accepted")
    assert not wrong, f"{method} as {profile.label}:\n" + "\n".join(wrong)


@pytest.mark.parametrize("method", sorted(catalogue.method_roles()))
def test_bytes_that_are_no_message_are_invalid_argument(world: World, method: str) -> None:
    profile = caller(world, method)
    rpc = world.channels[
        next(s.name for s in catalogue.SERVICES if method.startswith(f"/{s.api}/"))
    ].unary_unary(method, request_serializer=lambda raw: raw, response_deserializer=lambda raw: raw)
    with pytest.raises(grpc.RpcError) as caught:
        rpc(b"\xff\xff\xff\xff\x0f", metadata=profile.metadata, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details()
