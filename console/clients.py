"""The console's gRPC clients of the four services, and what their errors mean to a person.

One channel per service for the life of the process; every call carries the signed-in person's own token
(none for the public), so the services decide what the person may see and do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from google.rpc import error_details_pb2, status_pb2

from console.manifest import CONSOLE
from console.settings import ConsoleSettings
from integrity.complaints.v1 import complaints_pb2_grpc
from integrity.enterprises.v1 import enterprises_pb2_grpc
from integrity.inspections.v1 import inspections_pb2_grpc
from integrity.scoring.v1 import scoring_pb2_grpc
from shared import tracing
from shared.settings import Settings

T = TypeVar("T")
CALL_TIMEOUT_SECONDS = 15.0
# A region's aggregates (the dashboard) read every grade of the region when not cached: give them longer.
SUMMARY_TIMEOUT_SECONDS = 90.0
_STATUS_DETAILS_KEY = "grpc-status-details-bin"


class ServiceError(Exception):
    """A service refused or failed a call: its status, its message, and the fields it named."""

    def __init__(
        self, code: grpc.StatusCode, message: str, reason: str = "", fields: tuple[tuple[str, str], ...] = ()
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.fields = fields  # (field, what is wrong), from BadRequest

    def __str__(self) -> str:
        return f"{self.code.name}: {self.message}"


class Services:
    """The four services' stubs on long-lived channels."""

    def __init__(self, console: ConsoleSettings, platform: Settings) -> None:
        self._channels = {
            name: _channel(platform, console.address(platform, name)) for name in CONSOLE.upstreams
        }
        self.enterprises = enterprises_pb2_grpc.EnterpriseServiceStub(self._channels["enterprises"])
        self.complaints = complaints_pb2_grpc.ComplaintServiceStub(self._channels["complaints"])
        self.inspections = inspections_pb2_grpc.InspectionServiceStub(self._channels["inspections"])
        self.scoring = scoring_pb2_grpc.ScoringServiceStub(self._channels["scoring"])

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()


async def call(
    method: Callable[..., Awaitable[T]],
    request: Any,
    token: str | None,
    timeout: float = CALL_TIMEOUT_SECONDS,
) -> T:
    """`method(request)` as the person holding `token` (none: the public); ServiceError when refused."""
    metadata = (("authorization", f"Bearer {token}"),) if token else ()
    name = getattr(method, "_method", b"grpc")  # the stub's '/package.Service/Method'
    with tracing.client_call(name.decode() if isinstance(name, bytes) else str(name)) as traced:
        try:
            return await method(request, metadata=metadata + traced, timeout=timeout)
        except grpc.aio.AioRpcError as error:
            raise service_error(error) from None


def _channel(platform: Settings, address: str) -> grpc.aio.Channel:
    """TLS when INTEGRITY_TLS_CA_FILE names the services' CA (production), plaintext otherwise. The console
    calls the services' main ports, where the person's bearer token says who calls: no client certificate."""
    if platform.tls_ca_file is None:
        return grpc.aio.insecure_channel(address)
    roots = platform.tls_ca_file.read_bytes()
    return grpc.aio.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=roots))


async def optional(awaitable: Awaitable[T]) -> T | None:
    """The call's answer; None when the service does not offer the method (yet) or the thing is not there."""
    try:
        return await awaitable
    except ServiceError as error:
        if error.code in (grpc.StatusCode.UNIMPLEMENTED, grpc.StatusCode.NOT_FOUND):
            return None
        raise


async def if_offered(
    stub: Any, method: str, module: Any, request: str, token: str | None, **fields: Any
) -> Any:
    """`stub.method(module.request(**fields))` when this build's generated code has the method and the
    service answers it; None otherwise. For the methods the workflows issue adds (ListAppeals,
    ListInspections, credit repair applications): a page shows "not available" rather than failing."""
    request_type = getattr(module, request, None)
    if request_type is None or not hasattr(stub, method):
        return None
    return await optional(call(getattr(stub, method), request_type(**fields), token))


def service_error(error: grpc.aio.AioRpcError) -> ServiceError:
    reason, fields = "", []
    for key, value in error.trailing_metadata() or ():
        if key != _STATUS_DETAILS_KEY or not isinstance(value, bytes):
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                reason = info.reason
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
                fields += [(v.field, v.description) for v in bad.field_violations]
    return ServiceError(error.code(), error.details() or "", reason, tuple(fields))
