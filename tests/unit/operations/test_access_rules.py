"""The services' access rules cover every RPC in the protos and answer with the right status."""

from __future__ import annotations

import importlib

import pytest

from operations import catalogue
from shared.access import authorize, is_public_method
from shared.auth import Principal, Role
from shared.errors import ErrorKind, IntegrityError

PACKAGES = ("enterprises", "complaints", "inspections", "scoring")


def proto_methods() -> set[str]:
    methods = set()
    for package in PACKAGES:
        module = importlib.import_module(f"integrity.{package}.v1.{package}_pb2")
        for service in module.DESCRIPTOR.services_by_name.values():
            methods |= {f"/{service.full_name}/{m.name}" for m in service.methods}
    return methods


METHOD_ROLES = catalogue.method_roles()


def test_every_rpc_has_a_policy_and_nothing_else_does() -> None:
    assert set(METHOD_ROLES) == proto_methods()


def kind_of(method: str, principal: Principal) -> ErrorKind | None:
    try:
        authorize(method, principal, METHOD_ROLES)
    except IntegrityError as err:
        return err.kind
    return None


SYSTEM = Principal("gov", Role.SYSTEM)
REGULATOR = Principal("r", Role.REGULATOR, region="610100")
INSPECTOR = Principal("i", Role.INSPECTOR, region="610100")
PUBLIC = Principal.public()


@pytest.mark.parametrize(
    ("method", "principal", "expected"),
    [
        ("/integrity.enterprises.v1.EnterpriseService/CreateEnterprise", SYSTEM, None),
        (
            "/integrity.enterprises.v1.EnterpriseService/CreateEnterprise",
            REGULATOR,
            ErrorKind.PERMISSION_DENIED,
        ),
        ("/integrity.enterprises.v1.EnterpriseService/GetEnterprise", PUBLIC, ErrorKind.UNAUTHENTICATED),
        ("/integrity.complaints.v1.ComplaintService/CreateComplaint", PUBLIC, None),
        ("/integrity.complaints.v1.ComplaintService/ResolveComplaint", REGULATOR, None),
        ("/integrity.inspections.v1.InspectionService/CompleteInspection", INSPECTOR, None),
        (
            "/integrity.inspections.v1.InspectionService/CompleteInspection",
            REGULATOR,
            ErrorKind.PERMISSION_DENIED,
        ),
        ("/integrity.scoring.v1.ScoringService/ListRiskEntries", PUBLIC, ErrorKind.UNAUTHENTICATED),
        ("/integrity.scoring.v1.ScoringService/DeleteEverything", SYSTEM, ErrorKind.PERMISSION_DENIED),
    ],
)
def test_authorize(method: str, principal: Principal, expected: ErrorKind | None) -> None:
    assert kind_of(method, principal) is expected


def test_public_infrastructure() -> None:
    assert is_public_method("/grpc.health.v1.Health/Check")
    assert is_public_method("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
    assert not is_public_method("/integrity.complaints.v1.ComplaintService/CreateComplaint")
