"""ComplaintService placeholder: every method answers UNIMPLEMENTED until the complaints issue lands."""

from __future__ import annotations

from typing import Any, NoReturn

import grpc

from integrity.complaints.v1 import complaints_pb2_grpc
from shared.errors import unimplemented

ISSUE = "see the complaints issue"


class ComplaintServiceServicer(complaints_pb2_grpc.ComplaintServiceServicer):
    def CreateComplaint(self, request: Any, context: grpc.ServicerContext) -> NoReturn:
        raise unimplemented("CreateComplaint", ISSUE)

    def GetComplaint(self, request: Any, context: grpc.ServicerContext) -> NoReturn:
        raise unimplemented("GetComplaint", ISSUE)

    def AcceptComplaint(self, request: Any, context: grpc.ServicerContext) -> NoReturn:
        raise unimplemented("AcceptComplaint", ISSUE)

    def ResolveComplaint(self, request: Any, context: grpc.ServicerContext) -> NoReturn:
        raise unimplemented("ResolveComplaint", ISSUE)
