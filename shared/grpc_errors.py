"""IntegrityError -> AIP-193 status: google.rpc.Status with ErrorInfo, BadRequest and RequestInfo details."""

from __future__ import annotations

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from shared.errors import ErrorKind, IntegrityError

DOMAIN = "integrity.samr.gov.cn"

# What a status may carry, in UTF-8 bytes. The message and the details travel in the response trailers,
# which clients cap (8 KiB by default; a non-ASCII message is percent-encoded, three bytes per byte): an
# error that echoed unbounded input would reach the client as RESOURCE_EXHAUSTED instead of itself.
MAX_MESSAGE_BYTES = 512
MAX_DESCRIPTION_BYTES = 300  # ten of them, base64 in the details, stay well inside 8 KiB
MAX_FIELD_BYTES = 100
MAX_METADATA_BYTES = 100
MAX_FIELD_VIOLATIONS = 10

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


def clip(text: str, max_bytes: int) -> str:
    """`text` cut to at most `max_bytes` of UTF-8 (on a character boundary), marked with an ellipsis."""
    encoded = text.encode()
    if len(encoded) <= max_bytes:
        return text
    return encoded[: max_bytes - 3].decode(errors="ignore") + "…"


def to_rpc_status(err: IntegrityError, request_id: str | None = None) -> grpc.Status:
    """The status to abort with; clients read the details with `grpc_status.rpc_status.from_call`. Every
    text is clipped (see MAX_MESSAGE_BYTES), so whatever an error quotes, the client gets the status."""
    metadata = {clip(k, MAX_METADATA_BYTES): clip(v, MAX_METADATA_BYTES) for k, v in err.metadata.items()}
    details: list[Message] = [
        error_details_pb2.ErrorInfo(reason=err.reason, domain=DOMAIN, metadata=metadata)
    ]
    violations = err.field_violations[:MAX_FIELD_VIOLATIONS]
    if violations:
        details.append(
            error_details_pb2.BadRequest(
                field_violations=[
                    error_details_pb2.BadRequest.FieldViolation(
                        field=clip(v.field, MAX_FIELD_BYTES),
                        description=clip(v.description, MAX_DESCRIPTION_BYTES),
                    )
                    for v in violations
                ]
            )
        )
    message = err.message
    if len(err.field_violations) > len(violations):
        message = f"{len(err.field_violations)} fields are invalid; the first: {message}"
    return _status(
        STATUS_CODES[err.kind], clip(message, MAX_MESSAGE_BYTES), details + _request_info(request_id)
    )


def internal_status(request_id: str) -> grpc.Status:
    """INTERNAL without internals: the request id lets an operator find the traceback in the logs."""
    return _status(
        grpc.StatusCode.INTERNAL,
        f"internal error; request id {request_id}",
        [error_details_pb2.ErrorInfo(reason="INTERNAL", domain=DOMAIN), *_request_info(request_id)],
    )
