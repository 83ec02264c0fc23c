"""A service's gRPC server with auth, AIP-193 errors, access log, health, reflection, graceful stop.

Every application method goes through `_serving`: request id, authentication (JWT bearer in the
`authorization` metadata), the method policy, a deadline check, then the servicer with the caller as
`shared.auth.current_principal()`. Health and reflection are infrastructure: no token, no access log
(probes would drown it), handlers left untouched.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc
from google.protobuf.message import Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from shared.access import MethodRoles, authorize, is_public_method
from shared.auth import INVALID_TOKEN, Principal, Role, TokenVerifier, acting_as
from shared.bounds import check_request
from shared.errors import FieldViolation, IntegrityError, invalid_argument, unauthenticated
from shared.grpc_errors import MAX_MESSAGE_BYTES, STATUS_CODES, clip, internal_status, to_rpc_status
from shared.manifest import ServiceManifest
from shared.metrics import SERVING, MetricsEndpoint, ReadingSource, observe_rpc
from shared.settings import Settings, get_settings
from shared.tracing import end_server_span, start_server_span
from shared.transport import Listeners, certified_subject, listen

log = logging.getLogger("integrity.server")
access_log = logging.getLogger("integrity.access")

MAX_WORKERS = 16
MAX_REQUEST_BYTES = 1 << 20
REQUEST_ID_KEY = "x-request-id"


class Worker(Protocol):
    """A background loop (outbox relay, event consumer) that lives as long as the server."""

    def start(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...


AddServicer = Callable[[Any, grpc.Server], None]


@dataclass
class ServiceApp:
    manifest: ServiceManifest  # name, default port and who may call which method
    servicers: list[tuple[AddServicer, Any]]  # (add_XServiceServicer_to_server, servicer instance)
    # Background work the service needs once (relay, consumer, periodic checks): with several gRPC
    # processes only the first runs it (shared/processes.py says why).
    workers: list[Worker] = field(default_factory=list)
    per_process: list[Worker] = field(default_factory=list)  # caches every serving process keeps
    on_stop: list[Callable[[], None]] = field(default_factory=list)
    settings: Settings | None = None  # whose keys verify tokens; None means get_settings()
    # Figures read from the service's database when Prometheus scrapes (workers with a `readings()`
    # method, such as the outbox relay, add theirs).
    readings: list[ReadingSource] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.manifest.name


def service_full_name(add_servicer: AddServicer) -> str:
    """`add_ComplaintServiceServicer_to_server` -> `integrity.complaints.v1.ComplaintService`."""
    messages = importlib.import_module(add_servicer.__module__.removesuffix("_grpc"))
    short = add_servicer.__name__.removeprefix("add_").removesuffix("Servicer_to_server")
    return messages.DESCRIPTOR.services_by_name[short].full_name


# --- per-call behaviour -----------------------------------------------------------------------------


def _metadata(context: grpc.ServicerContext, key: str) -> str | None:
    return next((v for k, v in context.invocation_metadata() or () if k == key and isinstance(v, str)), None)


def _request_id(context: grpc.ServicerContext) -> str:
    given = _metadata(context, REQUEST_ID_KEY)
    return given if given and len(given) <= 128 and given.isprintable() else uuid.uuid4().hex


def _authenticate(context: grpc.ServicerContext, verifier: TokenVerifier) -> Principal:
    """The bearer token's principal; without one, a system caller when a mutual TLS handshake verified its
    certificate (shared.transport), else the public."""
    header = _metadata(context, "authorization")
    if header is None:
        certified = certified_subject(context)
        return Principal.public() if certified is None else Principal(subject=certified, role=Role.SYSTEM)
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated("authorization metadata must be `Bearer <token>`", INVALID_TOKEN)
    return verifier.verify(token.strip())


def _text(details: bytes | str | None) -> str:
    return details.decode(errors="replace") if isinstance(details, bytes) else details or ""


@contextlib.contextmanager
def _serving(
    method: str, context: grpc.ServicerContext, verifier: TokenVerifier, rules: MethodRoles
) -> Iterator[None]:
    """Around one call: authenticate, authorize, map errors to statuses, write the access log line."""
    request_id = _request_id(context)
    started = time.perf_counter()
    span, span_token = start_server_span(method, context.invocation_metadata())
    principal: Principal | None = None
    code = grpc.StatusCode.OK
    try:
        context.send_initial_metadata(((REQUEST_ID_KEY, request_id),))
        principal = _authenticate(context, verifier)
        authorize(method, principal, rules)
        if context.time_remaining() <= 0:
            context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded before the call started")
        with acting_as(principal):
            yield
        code = context.code() or grpc.StatusCode.OK
    except IntegrityError as err:
        code = STATUS_CODES[err.kind]
        context.abort_with_status(to_rpc_status(err, request_id))
    except Exception:
        if context.code() in (None, grpc.StatusCode.OK):
            code = grpc.StatusCode.INTERNAL
            log.exception("unexpected error", extra={"method": method, "request_id": request_id})
            context.abort_with_status(internal_status(request_id))
        else:  # a status chosen by context.abort (here or in the servicer) or set_code before raising
            code = context.code()
            context.abort(code, clip(_text(context.details()), MAX_MESSAGE_BYTES))
    except GeneratorExit:  # the client went away during a response stream
        code = grpc.StatusCode.CANCELLED
        raise
    finally:
        end_server_span(span, span_token, code.name)
        observe_rpc(method, code.name, time.perf_counter() - started)
        access_log.info(
            "rpc",
            extra={
                "method": method,
                "code": code.name,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "role": principal.role.value if principal else None,
                "subject": principal.subject if principal else None,
                "request_id": request_id,
                "peer": context.peer(),
            },
        )


_HANDLER_FACTORIES = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


@dataclass(frozen=True)
class _Undecodable:
    """Stands in for a request message whose bytes did not parse (grpc would answer INTERNAL)."""

    error: str


def _tolerant(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except Exception as exc:  # DecodeError and friends: the client sent malformed bytes
            return _Undecodable(type(exc).__name__)

    return deserialize


def _admit(request: Any) -> None:
    """Called inside `_serving`, so the caller is authenticated first: a malformed request, or one beyond
    the bounds its .proto declares (`shared.bounds`), is INVALID_ARGUMENT before the servicer sees it.
    Fields this server does not know (a newer client's) are dropped, so they travel nowhere."""
    if isinstance(request, _Undecodable):
        problem = f"the request bytes are not a valid protobuf message of this method ({request.error})"
        raise invalid_argument([FieldViolation("request", problem)])
    if isinstance(request, Message):
        request.DiscardUnknownFields()
        check_request(request)


def _wrap(
    handler: grpc.RpcMethodHandler, method: str, verifier: TokenVerifier, rules: MethodRoles
) -> grpc.RpcMethodHandler:
    if handler.response_streaming:
        inner = handler.unary_stream or handler.stream_stream

        def behaviour(request: Any, context: grpc.ServicerContext) -> Any:
            with _serving(method, context, verifier, rules):
                _admit(request)
                yield from inner(request, context)

    else:
        inner = handler.unary_unary or handler.stream_unary

        def behaviour(request: Any, context: grpc.ServicerContext) -> Any:
            with _serving(method, context, verifier, rules):
                _admit(request)
                return inner(request, context)

    factory = _HANDLER_FACTORIES[(handler.request_streaming, handler.response_streaming)]
    return factory(
        behaviour,
        # Unary requests only: a stream's iterator would still hand a raw _Undecodable to the servicer.
        request_deserializer=(
            handler.request_deserializer
            if handler.request_streaming
            else _tolerant(handler.request_deserializer)
        ),
        response_serializer=handler.response_serializer,
    )


class _Interceptor(grpc.ServerInterceptor):
    def __init__(self, verifier: TokenVerifier, rules: MethodRoles) -> None:
        self._verifier = verifier
        self._rules = rules

    def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        handler = continuation(handler_call_details)
        method = handler_call_details.method
        if handler is None or is_public_method(method):
            return handler
        return _wrap(handler, method, self._verifier, self._rules)


# --- server lifecycle -------------------------------------------------------------------------------


class RunningService:
    """A started server; `stop` is idempotent and safe from any thread."""

    def __init__(
        self,
        app: ServiceApp,
        server: grpc.Server,
        health_servicer: health.HealthServicer,
        host: str,
        listeners: Listeners,
        workers: list[Worker],
    ):
        self.app = app
        self.workers = workers  # those this process started
        self.server = server
        self.health = health_servicer
        self.listeners = listeners
        self.port = listeners.port
        self.address = f"{host}:{self.port}"
        self.mtls_port = listeners.mtls_port  # the mutual TLS listener, when the settings ask for one
        self.metrics: MetricsEndpoint | None = None
        self._stopped = False
        self._lock = threading.Lock()

    def stop(self, grace: float = 5.0) -> None:
        """NOT_SERVING first (so load balancers drain), then workers, then in-flight calls, then hooks."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
        log.info("stopping", extra={"service": self.app.name, "grace_seconds": grace})
        self.health.enter_graceful_shutdown()
        SERVING.labels(self.app.name).set(0)
        for worker in self.workers:
            _quietly(lambda w=worker: w.stop(grace), f"stopping worker {worker!r}")
        self.server.stop(grace).wait()
        self.listeners.stop()
        if self.metrics is not None:
            _quietly(self.metrics.stop, "stopping the metrics endpoint")
        for callback in self.app.on_stop:
            _quietly(callback, f"on_stop callback {callback!r}")
        log.info("stopped", extra={"service": self.app.name})


def _quietly(action: Callable[[], None], what: str) -> None:
    """Shutdown goes on when one step fails; the failure is logged."""
    try:
        action()
    except Exception:
        log.exception("%s failed", what)


def start(
    app: ServiceApp,
    port: int,
    host: str = "127.0.0.1",
    metrics_port: int | None = None,
    *,
    primary: bool = True,
    reuse_port: bool = False,
) -> RunningService:
    """Starts serving without blocking; port 0 picks a free port (see `.port`). TLS when the settings give a
    certificate; a second, mutual TLS port when they give `<NAME>_MTLS_PORT` (shared.transport). With
    `metrics_port`, Prometheus metrics are served there too (0: a free port, see `.metrics.port`).
    One of several processes on the port (shared.processes) shares it (`reuse_port`) and runs the app's
    workers only when `primary`."""
    settings = app.settings or get_settings()
    verifier = TokenVerifier(settings)
    server = grpc.server(
        ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix=f"grpc-{app.name}"),
        interceptors=[_Interceptor(verifier, app.manifest.method_roles())],
        options=[
            # A second server on a taken port must fail, not share it; the processes of one service share.
            ("grpc.so_reuseport", int(reuse_port)),
            # No request needs more (the largest, 1,000 verifications, is a fraction); a larger one is
            # RESOURCE_EXHAUSTED before it is read into memory.
            ("grpc.max_receive_message_length", MAX_REQUEST_BYTES),
        ],
    )
    names = [service_full_name(add) for add, _ in app.servicers]
    for add, servicer in app.servicers:
        add(servicer, server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection([*names, health.SERVICE_NAME, reflection.SERVICE_NAME], server)

    listeners = listen(server, health_servicer, app.name, host, port, settings, reuse_port=reuse_port)
    server.start()
    workers = [*(app.workers if primary else []), *app.per_process]
    running = RunningService(app, server, health_servicer, host, listeners, workers)
    try:
        if metrics_port is not None:
            running.metrics = _metrics_endpoint(app, host, metrics_port)
        for worker in workers:
            worker.start()
    except BaseException:
        running.stop(0)
        raise
    for name in ["", *names]:
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    SERVING.labels(app.name).set(1)
    log.info("serving", extra={"service": app.name, "address": running.address, "services": names})
    return running


def _metrics_endpoint(app: ServiceApp, host: str, port: int) -> MetricsEndpoint:
    sources = [*app.readings, *(w.readings() for w in app.workers if callable(getattr(w, "readings", None)))]
    try:
        return MetricsEndpoint(host, port, sources)
    except OSError as e:
        env = f"{app.name.upper()}_METRICS_PORT"
        raise RuntimeError(
            f"{app.name}: cannot serve metrics on {host}:{port} ({e.strerror}); set {env} to another port "
            "or INTEGRITY_METRICS_ENABLED=false"
        ) from e
