"""Bounds on every request: the limits declared in the .proto files, checked generically by the server.

The walk is tested on real request messages of the services; the server test shows that a request beyond
its bounds never reaches the servicer, and that the error names the field without echoing what it refused.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import given
from hypothesis import strategies as st

from integrity.complaints.v1 import complaints_pb2
from integrity.complaints.v1 import complaints_pb2_grpc as pb_grpc
from integrity.enterprises.v1 import enterprises_pb2
from integrity.inspections.v1 import inspections_pb2
from integrity.scoring.v1 import scoring_pb2
from shared.bounds import DEFAULT_MAX_ITEMS, DEFAULT_MAX_LENGTH, bounds_of, violations
from shared.errors import FieldViolation, invalid_argument
from shared.grpc_errors import to_rpc_status
from shared.grpc_server import RunningService, start
from shared.settings import Settings
from tests.unit.shared.test_grpc_server import make_app


def problems(message: object) -> dict[str, str]:
    return {v.field: v.description for v in violations(message)}  # type: ignore[arg-type]


def test_declared_bounds_are_read_from_the_proto_and_the_rest_get_the_defaults() -> None:
    reason = bounds_of(scoring_pb2.AcceptAppealRequest.DESCRIPTOR.fields_by_name["reason"])
    assert (reason.max_length, reason.multi_line) == (2000, True)
    name = bounds_of(scoring_pb2.AcceptAppealRequest.DESCRIPTOR.fields_by_name["name"])
    assert (name.max_length, name.multi_line, name.max_items) == (
        DEFAULT_MAX_LENGTH,
        False,
        DEFAULT_MAX_ITEMS,
    )


def test_an_overlong_reason_is_refused_without_echoing_it() -> None:
    request = scoring_pb2.AcceptAppealRequest(name="enterprises/x/appeals/y", reason="申诉" * 750_000)
    found = problems(request)
    assert found == {"reason": "must be at most 2,000 characters, got 1,500,000"}


def test_nul_and_control_characters_are_refused_everywhere_line_breaks_only_in_multi_line_text() -> None:
    inspector = inspections_pb2.Inspector(display_name="张\x00三")
    assert (
        "U+0000"
        in problems(inspections_pb2.CreateInspectorRequest(inspector=inspector))["inspector.display_name"]
    )
    one_line = inspections_pb2.Inspector(display_name="张\n三")
    assert (
        "one line"
        in problems(inspections_pb2.CreateInspectorRequest(inspector=one_line))["inspector.display_name"]
    )
    assert problems(scoring_pb2.RejectAppealRequest(reason="第一行\n第二行\t缩进")) == {}
    assert "U+0007" in problems(scoring_pb2.RejectAppealRequest(reason="响铃\a"))["reason"]
    assert "U+202E" in problems(scoring_pb2.RejectAppealRequest(reason="abc\u202edcba"))["reason"]


def test_timestamps_must_lie_between_1900_and_2200() -> None:
    request = scoring_pb2.AcceptAppealRequest(reason="ok")
    request.override_expire_time.seconds = 10**15
    assert problems(request) == {"override_expire_time": "must be between 1900-01-01 and 2200-01-01 (UTC)"}
    request.override_expire_time.seconds = 1_800_000_000
    request.override_expire_time.nanos = -1
    assert "nanos" in problems(request)["override_expire_time"]


def test_nested_repeated_and_numeric_fields_are_walked() -> None:
    findings = inspections_pb2.Findings(
        net_content=[inspections_pb2.NetContentFinding(product="米", largest_shortfall_percent=float("nan"))]
    )
    request = inspections_pb2.CompleteInspectionRequest(findings=findings)
    assert problems(request) == {
        "findings.net_content[0].largest_shortfall_percent": "must be a finite number (not NaN or infinity)"
    }
    uris = ["https://e.example/1"] * 21
    many = complaints_pb2.CreateComplaintRequest(complaint=complaints_pb2.Complaint(evidence_uris=uris))
    assert problems(many) == {"complaint.evidence_uris": "must have at most 20 elements, got 21"}
    batch = enterprises_pb2.BatchRecordVerificationsRequest(
        requests=[enterprises_pb2.RecordVerificationRequest(instrument="x" * 201)]
    )
    assert list(problems(batch)) == ["requests[0].instrument"]


@given(st.text(max_size=300))
def test_text_is_refused_exactly_when_too_long_or_holding_a_control_and_never_quoted(text: str) -> None:
    found = problems(scoring_pb2.GetGradeRequest(name=text))
    control = any(
        unicodedata.category(c) in {"Cc", "Cs", "Zl", "Zp"}
        or 0x202A <= ord(c) <= 0x202E
        or 0x2066 <= ord(c) <= 0x2069
        for c in text
    )
    assert bool(found) == (len(text) > DEFAULT_MAX_LENGTH or control)
    if found and len(text) >= 4:
        assert text not in found["name"]


# --- over the wire ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def channel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[grpc.Channel]:
    running: RunningService = start(make_app(Settings(var_dir=tmp_path_factory.mktemp("var"))), 0)
    with grpc.insecure_channel(running.address) as channel:
        yield channel
    running.stop(0)


def test_a_request_beyond_its_bounds_never_reaches_the_servicer(channel: grpc.Channel) -> None:
    # The fake servicer answers OK with the name it was given; the bounds refuse first.
    stub = pb_grpc.ComplaintServiceStub(channel)
    request = complaints_pb2.CreateComplaintRequest(
        complaint=complaints_pb2.Complaint(name="complaints/ok", description="投诉" * 100_000)
    )
    with pytest.raises(grpc.RpcError) as caught:
        stub.CreateComplaint(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    status = rpc_status.from_call(caught.value)
    assert status is not None and "投诉投诉" not in status.message
    bad_request = error_details_pb2.BadRequest()
    assert any(detail.Unpack(bad_request) for detail in status.details)
    assert [v.field for v in bad_request.field_violations] == ["complaint.description"]


def test_an_error_that_quotes_huge_input_still_reaches_the_client_as_itself() -> None:
    """The status is clipped, so it fits the trailers a client accepts (else RESOURCE_EXHAUSTED)."""
    error = invalid_argument([FieldViolation(f"f{i}", "值" * 100_000) for i in range(50)])
    status = to_rpc_status(error, "r")
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT
    details = dict(status.trailing_metadata)["grpc-status-details-bin"]
    assert len(details) < 5000 and len(status.details.encode()) <= 512
