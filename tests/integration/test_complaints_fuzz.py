"""Whatever a caller sends to CreateComplaint, the answer is OK or INVALID_ARGUMENT with field violations."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrity.complaints.v1 import complaints_pb2 as P
from integrity.complaints.v1 import complaints_pb2_grpc
from services.complaints.bootstrap import build_app
from shared.grpc_server import start
from shared.settings import Settings
from tests.helpers import valid_uscc

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[complaints_pb2_grpc.ComplaintServiceStub]:
    settings = Settings(var_dir=tmp_path_factory.mktemp("var"), kafka_bootstrap_servers="127.0.0.1:1")
    running = start(build_app(settings), 0)
    with grpc.insecure_channel(running.address) as channel:
        yield complaints_pb2_grpc.ComplaintServiceStub(channel)
    running.stop(0)


text = st.text(max_size=40) | st.sampled_from(
    ["", "enterprises/", "\x00\n", "x" * 4001, "https://e.example/1"]
)
int32 = st.integers(-(2**31), 2**31 - 1)


@st.composite
def requests(draw: st.DrawFn) -> P.CreateComplaintRequest:
    enterprise = draw(text | st.integers(0, 10**6).map(lambda n: f"enterprises/{valid_uscc(n)}"))
    message = P.Complaint(
        enterprise=enterprise,
        category=draw(int32),
        channel=draw(st.integers(-2, 9)),
        description=draw(text),
        location=draw(text),
        evidence_uris=draw(st.lists(text, max_size=22)),
    )
    if draw(st.booleans()):
        message.occur_time.seconds = draw(st.integers(-(2**62), 2**62))
        message.occur_time.nanos = draw(int32)
    request = P.CreateComplaintRequest(complaint=message, request_id=draw(text | st.uuids().map(str)))
    if draw(st.booleans()):
        request.complainant.display_name = draw(text)
        request.complainant.phone = draw(text)
    return request


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(request=requests())
def test_create_answers_ok_or_invalid_argument(
    stub: complaints_pb2_grpc.ComplaintServiceStub, request
) -> None:  # type: ignore[no-untyped-def]
    try:
        response = stub.CreateComplaint(request, timeout=10)
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.details()  # type: ignore[attr-defined]
        status = rpc_status.from_call(err)  # type: ignore[arg-type]
        violations = []
        for detail in status.details if status else ():
            bad_request = error_details_pb2.BadRequest()
            if detail.Unpack(bad_request):
                violations += bad_request.field_violations
        assert violations
        return
    assert response.complaint.state == P.COMPLAINT_STATE_RECEIVED and len(response.receipt_code) == 12
