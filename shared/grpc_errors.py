"""IntegrityError -> AIP-193 status: google.rpc.Status with ErrorInfo, BadRequest and RequestInfo details."""

from __future__ import annotations

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from shared.errors import ErrorKind, IntegrityError

DOMAIN = "integrity.samr.gov.cn"

STATUS_CODES: dict[ErrorKind, grpc.StatusCode] = {
    ErrorKind.INVALID_ARGUMENT: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorKind.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    ErrorKind.ALREADY_EXISTS: grpc.StatusCode.ALREADY_EXISTS,
    ErrorKind.FAILED_PRECONDITION: grpc.StatusCode.FAILED_PRECONDITION,
    ErrorKind.ABORTED: grpc.StatusCode.ABORTED,
    ErrorKind.PERMISSION_DENIED: grpc.StatusCode.PERMISSION_DENIED,
    ErrorKind.UNAUTHENTICATED: grpc.StatusCode.UNAUTHENTICATED,
    ErrorKind.UNIMPLEMENTED: grpc.StatusCode.UNIMPLEMENTED,
}


def _status(code: grpc.StatusCode, message: str, details: list[Message]) -> grpc.Status:
    status = status_pb2.Status(code=code.value[0], message=message)
    for detail in details:
        status.details.add().Pack(detail)
    return rpc_status.to_status(status)


def _request_info(request_id: str | None) -> list[Message]:
    return [error_details_pb2.RequestInfo(request_id=request_id)] if request_id else []


def to_rpc_status(err: IntegrityError, request_id: str | None = None) -> grpc.Status:
    """The status to abort with; clients read the details with `grpc_status.rpc_status.from_call`."""
    details: list[Message] = [
        error_details_pb2.ErrorInfo(reason=err.reason, domain=DOMAIN, metadata=err.metadata)
    ]
    if err.field_violations:
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description)
                    for v in err.field_violations
                ]
            )
        )
    return _status(STATUS_CODES[err.kind], err.message, details + _request_info(request_id))


def internal_status(request_id: str) -> grpc.Status:
    """INTERNAL without internals: the request id lets an operator find the traceback in the logs."""
    return _status(
        grpc.StatusCode.INTERNAL,
        f"internal error; request id {request_id}",
        [error_details_pb2.ErrorInfo(reason="INTERNAL", domain=DOMAIN), *_request_info(request_id)],
    )
