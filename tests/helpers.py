"""Small helpers shared by the test suites (no fixtures here: those live in conftest.py)."""

from __future__ import annotations

import random
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from operations.broker import free_port
from shared.events import Event, new_event
from shared.grpc_server import ServiceApp, start
from shared.uscc import with_check_character

__all__ = [
    "Refusal",
    "create_enterprise",
    "enterprise_registered",
    "free_port",
    "quiet_port",
    "refusal",
    "serving",
    "valid_uscc",
    "wait_until",
]

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T], timeout: float = 15.0, interval: float = 0.05, message: str = ""
) -> T:
    """Polls `predicate` until it returns something truthy, and returns that; fails the test on timeout.

    For asynchronous effects (a relay publishing, a consumer processing): tests wait for the outcome
    instead of sleeping a guessed time.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(message or f"condition not met within {timeout}s: {predicate!r}")
        time.sleep(interval)


def quiet_port(host: str = "127.0.0.1") -> int:
    """A free port below the kernel's ephemeral range, for a server that is started late.

    A client retrying a port inside the ephemeral range can end up connected to itself (TCP
    self-connect: source port == destination port), and then the server cannot bind it."""
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(max(1024, low - 12000), low)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port below {low}")


def valid_uscc(serial: int, region: str = "610100") -> str:
    """A valid USCC (right check character) in `region`, distinct per serial."""
    return with_check_character(f"91{region}MA{serial:07d}")


def enterprise_registered(uscc: str, *, region: str = "610100", occurred_at: datetime | None = None) -> Event:
    """An EnterpriseRegistered event about `uscc`, as the enterprises service would publish it."""
    enterprise = enterprises_pb2.Enterprise(
        name=f"enterprises/{uscc}",
        uscc=uscc,
        display_name="西安市某某加油站有限公司",
        region_code=region,
        industry_code="F5265",
        subject_type=enterprises_pb2.SubjectType.SUBJECT_TYPE_TRADE_INSTRUMENT_USER,
    )
    payload = events_pb2.EnterpriseRegistered(enterprise=enterprise)
    return new_event("//integrity/enterprises", uscc, payload, occurred_at=occurred_at)


@contextmanager
def serving(app: ServiceApp) -> Iterator[grpc.Channel]:
    """Serves `app` on a free port and yields a channel to it; stops both afterwards."""
    running = start(app, 0)
    channel = grpc.insecure_channel(running.address)
    try:
        yield channel
    finally:
        channel.close()
        running.stop(1.0)


def create_enterprise(channel: grpc.Channel, uscc: str, region: str, token: str) -> None:
    """Registers a fuel station `uscc` in `region` over gRPC, as the business registry (a system) would."""
    from integrity.enterprises.v1 import enterprises_pb2_grpc

    enterprises_pb2_grpc.EnterpriseServiceStub(channel).CreateEnterprise(
        enterprises_pb2.CreateEnterpriseRequest(
            enterprise=enterprises_pb2.Enterprise(
                uscc=uscc,
                display_name="陕南某某加油站",
                region_code=region,
                industry_code="F5265",
                subject_type=enterprises_pb2.SUBJECT_TYPE_TRADE_INSTRUMENT_USER,
            ),
            request_id=str(uuid.uuid4()),
        ),
        metadata=[("authorization", f"Bearer {token}")],
        timeout=10,
    )


@dataclass(frozen=True)
class Refusal:
    """What an RPC that failed said: its status code, the BadRequest fields and the ErrorInfo reason."""

    code: grpc.StatusCode
    fields: frozenset[str]
    reason: str
    message: str


def refusal(method: Callable[..., object], request: object, metadata: object = ()) -> Refusal:
    """Calls `method` (a stub's method) expecting it to fail; what the failure said."""
    try:
        method(request, metadata=metadata, timeout=15)
    except grpc.RpcError as error:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
        fields: set[str] = set()
        reason = ""
        for detail in status.details if status else ():
            bad_request, error_info = error_details_pb2.BadRequest(), error_details_pb2.ErrorInfo()
            if detail.Unpack(bad_request):
                fields |= {v.field for v in bad_request.field_violations}
            elif detail.Unpack(error_info):
                reason = error_info.reason
        return Refusal(error.code(), frozenset(fields), reason, error.details() or "")  # type: ignore[attr-defined]
    raise AssertionError(f"{method} succeeded, a failure was expected")
