"""A real server on a free local port with a tiny servicer, called through the generated stub."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from grpc_status import rpc_status

from integrity.complaints.v1 import complaints_pb2 as pb
from integrity.complaints.v1 import complaints_pb2_grpc as pb_grpc
from shared.auth import Role, current_principal, issue_token
from shared.errors import FieldViolation, invalid_argument
from shared.grpc_server import RunningService, ServiceApp, start
from shared.logs import JsonFormatter
from shared.manifest import ServiceManifest
from shared.settings import Settings

SERVICE = "integrity.complaints.v1.ComplaintService"
# A manifest of this test's own: the platform serves whatever a service declares.
MANIFEST = ServiceManifest(
    name="complaints",
    default_port=0,
    api=SERVICE,
    access={
        "CreateComplaint": (Role.SYSTEM, Role.PUBLIC),
        "AcceptComplaint": (Role.REGULATOR,),
        "ResolveComplaint": (Role.REGULATOR,),
    },
    bootstrap="tests.unit.shared.test_grpc_server:make_app",
    tables="shared.outbox:OutboxRecord",
    unit_of_work="shared.db:UnitOfWork",
)


class FakeComplaints(pb_grpc.ComplaintServiceServicer):
    """CreateComplaint (public) behaves as the complaint's `name` says; AcceptComplaint (regulators only)
    echoes the caller."""

    def CreateComplaint(
        self, request: pb.CreateComplaintRequest, context: grpc.ServicerContext
    ) -> pb.CreateComplaintResponse:
        name = request.complaint.name
        if name == "complaints/invalid":
            raise invalid_argument([FieldViolation("name", "must look like complaints/{id}")])
        if name == "complaints/boom":
            raise RuntimeError("password=hunter2 in /srv/secret.py")
        if name == "complaints/gone":
            context.abort(grpc.StatusCode.NOT_FOUND, "gone on purpose")
        return pb.CreateComplaintResponse(complaint=pb.Complaint(name=name))

    def AcceptComplaint(
        self, request: pb.AcceptComplaintRequest, context: grpc.ServicerContext
    ) -> pb.AcceptComplaintResponse:
        principal = current_principal()
        return pb.AcceptComplaintResponse(
            complaint=pb.Complaint(name=request.name, description=principal.subject)
        )


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(var_dir=tmp_path_factory.mktemp("var"))


def make_app(settings: Settings) -> ServiceApp:
    return ServiceApp(
        manifest=MANIFEST,
        servicers=[(pb_grpc.add_ComplaintServiceServicer_to_server, FakeComplaints())],
        settings=settings,
    )


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[RunningService]:
    running = start(make_app(settings), 0)
    yield running
    running.stop(0)


@pytest.fixture(scope="module")
def channel(server: RunningService) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.address) as channel:
        yield channel


@pytest.fixture
def stub(channel: grpc.Channel) -> pb_grpc.ComplaintServiceStub:
    return pb_grpc.ComplaintServiceStub(channel)


def bearer(settings: Settings, role: Role, **scope: str) -> tuple[tuple[str, str]]:
    return (("authorization", f"Bearer {issue_token(settings, role, **scope)}"),)


def call_error(call, *args, **kwargs) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as caught:
        call(*args, **kwargs)
    return caught.value


def unpack(status, message_type):
    found = []
    for detail in status.details:
        if detail.Is(message_type.DESCRIPTOR):
            message = message_type()
            detail.Unpack(message)
            found.append(message)
    return found


def test_public_method_needs_no_token(stub) -> None:
    response = stub.CreateComplaint(pb.CreateComplaintRequest(complaint=pb.Complaint(name="complaints/1")))
    assert response.complaint.name == "complaints/1"


def test_servicer_sees_the_caller(settings, stub) -> None:
    metadata = bearer(settings, Role.REGULATOR, region="610100", subject="wang.li")
    response = stub.AcceptComplaint(pb.AcceptComplaintRequest(name="complaints/1"), metadata=metadata)
    assert response.complaint.description == "wang.li"


def test_field_violations_reach_the_client(stub) -> None:
    err = call_error(
        stub.CreateComplaint, pb.CreateComplaintRequest(complaint=pb.Complaint(name="complaints/invalid"))
    )
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(err)
    [info] = unpack(status, error_details_pb2.ErrorInfo)
    assert (info.reason, info.domain) == ("INVALID_ARGUMENT", "integrity.samr.gov.cn")
    [bad_request] = unpack(status, error_details_pb2.BadRequest)
    assert [(v.field, v.description) for v in bad_request.field_violations] == [
        ("name", "must look like complaints/{id}")
    ]
    [request_info] = unpack(status, error_details_pb2.RequestInfo)
    assert request_info.request_id


def test_unexpected_exception_is_internal_without_internals(stub, caplog) -> None:
    with caplog.at_level(logging.ERROR, logger="integrity.server"):
        err = call_error(
            stub.CreateComplaint, pb.CreateComplaintRequest(complaint=pb.Complaint(name="complaints/boom"))
        )
    assert err.code() is grpc.StatusCode.INTERNAL
    assert "hunter2" not in err.details() and "RuntimeError" not in err.details()
    [request_info] = unpack(rpc_status.from_call(err), error_details_pb2.RequestInfo)
    assert err.details() == f"internal error; request id {request_info.request_id}"
    # The operator finds the traceback under the same request id.
    [logged] = [r for r in caplog.records if getattr(r, "request_id", None) == request_info.request_id]
    assert "hunter2" in JsonFormatter().format(logged)


def test_servicer_abort_passes_through(stub) -> None:
    err = call_error(
        stub.CreateComplaint, pb.CreateComplaintRequest(complaint=pb.Complaint(name="complaints/gone"))
    )
    assert (err.code(), err.details()) == (grpc.StatusCode.NOT_FOUND, "gone on purpose")


def test_unimplemented_method_stays_unimplemented(settings, stub) -> None:
    metadata = bearer(settings, Role.REGULATOR, region="610100")
    err = call_error(
        stub.ResolveComplaint, pb.ResolveComplaintRequest(name="complaints/1"), metadata=metadata
    )
    assert err.code() is grpc.StatusCode.UNIMPLEMENTED


def test_no_token_for_a_protected_method(stub) -> None:
    err = call_error(stub.AcceptComplaint, pb.AcceptComplaintRequest(name="complaints/1"))
    assert err.code() is grpc.StatusCode.UNAUTHENTICATED
    assert "integrity token --role regulator" in err.details()


def test_invalid_token(stub) -> None:
    metadata = (("authorization", "Bearer not.a.token"),)
    err = call_error(
        stub.CreateComplaint,
        pb.CreateComplaintRequest(complaint=pb.Complaint(name="complaints/1")),
        metadata=metadata,
    )
    assert err.code() is grpc.StatusCode.UNAUTHENTICATED  # a bad token is not silently treated as public


def test_wrong_role(settings, stub) -> None:
    metadata = bearer(settings, Role.SYSTEM)
    err = call_error(stub.AcceptComplaint, pb.AcceptComplaintRequest(name="complaints/1"), metadata=metadata)
    assert err.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "system" in err.details() and "AcceptComplaint" in err.details()


def test_health_serving(channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", SERVICE):
        response = health.Check(health_pb2.HealthCheckRequest(service=service))
        assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_reflection_lists_the_services(channel) -> None:
    services = ProtoReflectionDescriptorDatabase(channel).get_services()
    assert {SERVICE, "grpc.health.v1.Health"} <= set(services)


def test_one_access_log_line_per_call(settings, stub, caplog) -> None:
    metadata = (
        *bearer(settings, Role.REGULATOR, region="610100", subject="li.na"),
        ("x-request-id", "req-42"),
    )
    with caplog.at_level(logging.INFO, logger="integrity.access"):
        stub.AcceptComplaint(pb.AcceptComplaintRequest(name="complaints/secret-body"), metadata=metadata)
        call_error(stub.AcceptComplaint, pb.AcceptComplaintRequest(name="complaints/1"))
    lines = [json.loads(JsonFormatter().format(r)) for r in caplog.records if r.name == "integrity.access"]
    assert len(lines) == 2
    ok, denied = lines
    assert ok["method"] == f"/{SERVICE}/AcceptComplaint"
    assert (ok["code"], ok["role"], ok["subject"], ok["request_id"]) == ("OK", "regulator", "li.na", "req-42")
    assert ok["duration_ms"] >= 0 and ok["peer"]
    assert (denied["code"], denied["role"]) == ("UNAUTHENTICATED", "public")
    assert "secret-body" not in json.dumps(lines)  # request bodies are never logged


def test_health_turns_not_serving_when_stop_begins(settings) -> None:
    running = start(make_app(settings), 0)
    stopped_callbacks: list[str] = []
    running.app.on_stop.append(lambda: stopped_callbacks.append("closed"))
    with grpc.insecure_channel(running.address) as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=SERVICE))
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        stopper = threading.Thread(target=running.stop, args=(0.5,))
        stopper.start()
        assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
        stopper.join()
        watch.cancel()
    assert stopped_callbacks == ["closed"]


def test_workers_start_after_the_server_and_stop_with_it(settings) -> None:
    events: list[str] = []

    class RecordingWorker:
        def start(self) -> None:
            events.append("start")

        def stop(self, timeout: float = 5.0) -> None:
            events.append("stop")

    app = make_app(settings)
    app.workers.append(RecordingWorker())
    running = start(app, 0)
    assert events == ["start"]
    running.stop(0)
    running.stop(0)  # idempotent
    assert events == ["start", "stop"]


RUN_SCRIPT = """
from integrity.complaints.v1 import complaints_pb2_grpc as pb_grpc
from shared.grpc_server import ServiceApp
from shared.processes import run
from shared.settings import get_settings
from tests.unit.shared.test_grpc_server import MANIFEST

servicer = pb_grpc.ComplaintServiceServicer()
app = ServiceApp(MANIFEST, [(pb_grpc.add_ComplaintServiceServicer_to_server, servicer)])
run(app, get_settings())
"""


def test_run_serves_until_sigterm_then_stops_gracefully(tmp_path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "INTEGRITY_VAR_DIR": str(tmp_path), "COMPLAINTS_PORT": str(port)}
    process = subprocess.Popen([sys.executable, "-c", RUN_SCRIPT], env=env, stderr=subprocess.PIPE, text=True)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=SERVICE)
            )
            assert response.status == health_pb2.HealthCheckResponse.SERVING
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0
    messages = [json.loads(line)["message"] for line in stderr.splitlines()]
    assert messages[0] == "serving" and messages[-2:] == ["stopping", "stopped"]
