"""InspectionService placeholder: every method answers UNIMPLEMENTED until the inspections issue lands."""

from __future__ import annotations

from typing import Any, NoReturn

import grpc

from integrity.inspections.v1 import inspections_pb2_grpc
from shared.errors import unimplemented

ISSUE = "see the inspections issue"


class InspectionServiceServicer(inspections_pb2_grpc.InspectionServiceServicer):
    def CreateInspectionPlan(self, request: Any, context: grpc.ServicerContext) -> NoReturn:
        raise unimplemented("CreateInspectionPlan", ISSUE)

    def GetInspectionPlan(self, request: Any, context: grpc.ServicerContext) -> NoReturn:
        raise unimplemented("GetInspectionPlan", ISSUE)

    def CompleteInspection(self, request: Any, context: grpc.ServicerContext) -> NoReturn:
        raise unimplemented("CompleteInspection", ISSUE)
