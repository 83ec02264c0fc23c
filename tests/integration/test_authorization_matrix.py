"""Authorization by resource, generated from the method table: every method of every service, called over
gRPC by every kind of caller (the system; a regulator and an inspector of the resource's region and of
another; the enterprise itself and the other; the public) on a resource inside and one outside its scope.

The expected outcome is the method table's roles (`operations.catalogue.method_roles()`) combined with the
method's scope rule below: the audit of who may see or change which resource. A method without a rule
fails the test, so a new RPC cannot ship unaudited. Allowed calls never get PERMISSION_DENIED or
UNAUTHENTICATED; denied ones always do (an enterprise may instead get NOT_FOUND, which hides whether a
complaint exists); no call ever gets INTERNAL or UNKNOWN; and a List never returns what the caller may not
see.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import field_mask_pb2

from integrity.complaints.v1 import complaints_pb2 as C
from integrity.enterprises.v1 import enterprises_pb2 as E
from integrity.inspections.v1 import inspections_pb2 as Q
from integrity.scoring.v1 import scoring_pb2 as S
from operations import catalogue
from shared.auth import REGIONAL_ROLES, Role
from shared.regions import region_contains
from tests.integration.authorization_rules import (
    Scenario,
    anyone,
    assigned,
    in_region,
    inspection_reader,
    own,
    plan_reader,
)
from tests.integration.four_services import Profile, Target, World, commitment_of_today, four_services

pytestmark = pytest.mark.integration

ALLOWED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.FAILED_PRECONDITION,  # e.g. accepting a complaint an earlier allowed caller accepted
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.ABORTED,
}
DENIED = {grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED}


def _enterprise(world: World, target: Target) -> E.Enterprise:
    return E.Enterprise(
        uscc=world.new_uscc(target.region),
        display_name="新登记企业",
        region_code=target.region,
        industry_code="F5265",
        subject_type=E.SUBJECT_TYPE_TRADE_INSTRUMENT_USER,
    )


def _verification(target: Target) -> E.RecordVerificationRequest:
    return E.RecordVerificationRequest(
        instrument=target.instrument,
        verification=E.Verification(
            verification_date="2025-01-10", result=E.VERIFICATION_RESULT_PASS, certificate_number="JD-1"
        ),
    )


def _uuid() -> str:
    return str(uuid.uuid4())


ENTERPRISES = "/integrity.enterprises.v1.EnterpriseService/"
COMPLAINTS = "/integrity.complaints.v1.ComplaintService/"
INSPECTIONS = "/integrity.inspections.v1.InspectionService/"
SCORING = "/integrity.scoring.v1.ScoringService/"

SCENARIOS: dict[str, Scenario] = {
    # --- enterprises ---
    ENTERPRISES + "CreateEnterprise": Scenario(
        anyone, lambda w, t: E.CreateEnterpriseRequest(enterprise=_enterprise(w, t), request_id=_uuid())
    ),
    ENTERPRISES + "GetEnterprise": Scenario(
        in_region, lambda w, t: E.GetEnterpriseRequest(name=t.enterprise)
    ),
    ENTERPRISES + "ListEnterprises": Scenario(
        in_region,
        lambda w, t: E.ListEnterprisesRequest(filter=f'region_code = "{t.region}"'),
        lambda r: [e.uscc for e in r.enterprises],
    ),
    ENTERPRISES + "UpdateEnterprise": Scenario(
        anyone,
        lambda w, t: E.UpdateEnterpriseRequest(
            enterprise=E.Enterprise(name=t.enterprise, display_name=f"测试企业 {t.label}"),
            update_mask=field_mask_pb2.FieldMask(paths=["display_name"]),
        ),
    ),
    ENTERPRISES + "CreateInstrument": Scenario(
        own,
        lambda w, t: E.CreateInstrumentRequest(
            parent=t.enterprise,
            instrument=E.Instrument(type=E.INSTRUMENT_TYPE_TRADE_SCALE, serial_number=_uuid()[:12]),
        ),
    ),
    ENTERPRISES + "ListInstruments": Scenario(
        in_region, lambda w, t: E.ListInstrumentsRequest(parent=t.enterprise), lambda r: []
    ),
    ENTERPRISES + "RecordVerification": Scenario(anyone, lambda w, t: _verification(t)),
    ENTERPRISES + "BatchRecordVerifications": Scenario(
        anyone, lambda w, t: E.BatchRecordVerificationsRequest(requests=[_verification(t)])
    ),
    ENTERPRISES + "CreateCommitment": Scenario(
        own, lambda w, t: E.CreateCommitmentRequest(parent=t.enterprise, commitment=commitment_of_today())
    ),
    ENTERPRISES + "WithdrawCommitment": Scenario(
        own, lambda w, t: E.WithdrawCommitmentRequest(name=t.commitment)
    ),
    ENTERPRISES + "DeclareCapability": Scenario(
        own,
        lambda w, t: E.DeclareCapabilityRequest(
            parent=t.enterprise,
            declaration=E.CapabilityDeclaration(has_management_system=True, instrument_count=3),
        ),
    ),
    ENTERPRISES + "ListCommitments": Scenario(
        in_region, lambda w, t: E.ListCommitmentsRequest(parent=t.enterprise)
    ),
    ENTERPRISES + "ListCapabilityDeclarations": Scenario(
        in_region, lambda w, t: E.ListCapabilityDeclarationsRequest(parent=t.enterprise)
    ),
    ENTERPRISES + "LookupPublicCode": Scenario(
        anyone, lambda w, t: E.LookupPublicCodeRequest(public_code=t.public_code)
    ),
    # --- complaints ---
    COMPLAINTS + "CreateComplaint": Scenario(
        anyone,
        lambda w, t: C.CreateComplaintRequest(
            complaint=C.Complaint(
                enterprise=t.enterprise,
                category=C.COMPLAINT_CATEGORY_CHEATING_INSTRUMENT,
                channel=C.COMPLAINT_CHANNEL_ONLINE,
                description="电子秤疑似作弊",
            ),
            request_id=_uuid(),
        ),
    ),
    COMPLAINTS + "GetComplaintByReceipt": Scenario(
        anyone, lambda w, t: C.GetComplaintByReceiptRequest(receipt_code=t.receipt)
    ),
    # The system caller filed every seeded complaint; the enterprise sees its decided ones.
    COMPLAINTS + "GetComplaint": Scenario(
        in_region, lambda w, t: C.GetComplaintRequest(name=t.resolved_complaint)
    ),
    COMPLAINTS + "ListComplaints": Scenario(
        # An enterprise's list is its own whatever it filters on; a regulator may not ask outside.
        lambda p, t: p.role == Role.ENTERPRISE or in_region(p, t),
        lambda w, t: C.ListComplaintsRequest(filter=f'region_code = "{t.region}"'),
        lambda r: [c.enterprise.removeprefix("enterprises/") for c in r.complaints],
    ),
    COMPLAINTS + "ListOverdueComplaints": Scenario(
        in_region,
        lambda w, t: C.ListOverdueComplaintsRequest(region_code=t.region),
        lambda r: [c.enterprise.removeprefix("enterprises/") for c in r.complaints],
    ),
    COMPLAINTS + "AcceptComplaint": Scenario(
        in_region, lambda w, t: C.AcceptComplaintRequest(name=t.open_complaint)
    ),
    COMPLAINTS + "RejectComplaint": Scenario(
        in_region, lambda w, t: C.RejectComplaintRequest(name=t.open_complaint, reason="不属于计量范围")
    ),
    COMPLAINTS + "InvestigateComplaint": Scenario(
        in_region, lambda w, t: C.InvestigateComplaintRequest(name=t.open_complaint)
    ),
    COMPLAINTS + "ResolveComplaint": Scenario(
        in_region, lambda w, t: C.ResolveComplaintRequest(name=t.open_complaint, resolution="查无实据")
    ),
    COMPLAINTS + "CloseComplaint": Scenario(
        in_region, lambda w, t: C.CloseComplaintRequest(name=t.open_complaint)
    ),
    # --- inspections ---
    INSPECTIONS + "CreateInspector": Scenario(
        in_region,
        lambda w, t: Q.CreateInspectorRequest(
            inspector=Q.Inspector(
                display_name="新检查员", region_code=t.region, qualifications=[Q.QUALIFICATION_TRADE_SCALES]
            )
        ),
    ),
    INSPECTIONS + "UpdateInspector": Scenario(
        in_region,
        lambda w, t: Q.UpdateInspectorRequest(
            inspector=Q.Inspector(name=t.inspector, available=True),
            update_mask=field_mask_pb2.FieldMask(paths=["available"]),
        ),
    ),
    INSPECTIONS + "ListInspectors": Scenario(
        in_region,
        lambda w, t: Q.ListInspectorsRequest(region_code=t.plan_region),
        lambda r: [i.region_code for i in r.inspectors],
    ),
    INSPECTIONS + "CreateInspectionPlan": Scenario(
        in_region,
        lambda w, t: Q.CreateInspectionPlanRequest(
            inspection_plan=Q.InspectionPlan(region_code=t.region), request_id=_uuid()
        ),
    ),
    INSPECTIONS + "GetInspectionPlan": Scenario(
        plan_reader, lambda w, t: Q.GetInspectionPlanRequest(name=t.plan)
    ),
    INSPECTIONS + "ListInspectionPlans": Scenario(
        in_region,
        lambda w, t: Q.ListInspectionPlansRequest(region_code=t.region),
        lambda r: [p.region_code for p in r.inspection_plans],
    ),
    INSPECTIONS + "VerifyInspectionPlan": Scenario(
        plan_reader, lambda w, t: Q.VerifyInspectionPlanRequest(name=t.plan)
    ),
    INSPECTIONS + "GetInspection": Scenario(
        inspection_reader, lambda w, t: Q.GetInspectionRequest(name=t.inspection)
    ),
    INSPECTIONS + "ListInspections": Scenario(
        # An inspector's list is their own whatever it filters on.
        lambda p, t: p.role == Role.INSPECTOR or in_region(p, t),
        lambda w, t: Q.ListInspectionsRequest(filter=f'region_code = "{t.region}"'),
        lambda r: [i.enterprise.removeprefix("enterprises/") for i in r.inspections],
    ),
    INSPECTIONS + "ListPlanCommitments": Scenario(
        anyone, lambda w, t: Q.ListPlanCommitmentsRequest(region_code=t.region)
    ),
    INSPECTIONS + "GetPlanCommitment": Scenario(
        anyone, lambda w, t: Q.GetPlanCommitmentRequest(name=f"{t.plan}/commitment")
    ),
    INSPECTIONS + "CompleteInspection": Scenario(
        assigned,
        lambda w, t: Q.CompleteInspectionRequest(name=t.inspection, outcome=Q.INSPECTION_OUTCOME_COMPLIANT),
    ),
    INSPECTIONS + "CompleteRectification": Scenario(
        assigned, lambda w, t: Q.CompleteRectificationRequest(name=t.inspection)
    ),
    INSPECTIONS + "ListPublishedResults": Scenario(
        anyone, lambda w, t: Q.ListPublishedResultsRequest(region_code=t.region)
    ),
    # --- scoring ---
    SCORING + "GetGrade": Scenario(in_region, lambda w, t: S.GetGradeRequest(name=f"{t.enterprise}/grade")),
    SCORING + "ListRiskEntries": Scenario(
        in_region,
        lambda w, t: S.ListRiskEntriesRequest(filter=f'region_code = "{t.region}"'),
        lambda r: [e.enterprise.removeprefix("enterprises/") for e in r.risk_entries],
    ),
    SCORING + "CreateCreditRepair": Scenario(
        in_region,
        lambda w, t: S.CreateCreditRepairRequest(
            parent=t.enterprise,
            credit_repair=S.CreditRepair(rule_code="SERIOUS_VIOLATION", reason="整改完成"),
            request_id=_uuid(),
        ),
    ),
    SCORING + "CreateAppeal": Scenario(
        own, lambda w, t: S.CreateAppealRequest(parent=t.enterprise, appeal=S.Appeal(reason="请复核"))
    ),
    SCORING + "GetAppeal": Scenario(in_region, lambda w, t: S.GetAppealRequest(name=t.appeal)),
    SCORING + "AcceptAppeal": Scenario(
        in_region,
        lambda w, t: S.AcceptAppealRequest(name=t.appeal, override_level=S.GRADE_LEVEL_B, reason="复核属实"),
    ),
    SCORING + "RejectAppeal": Scenario(
        in_region, lambda w, t: S.RejectAppealRequest(name=t.appeal, reason="理由不成立")
    ),
    SCORING + "SummarizeGrades": Scenario(
        in_region, lambda w, t: S.SummarizeGradesRequest(filter=f'region_code = "{t.region}"')
    ),
    SCORING + "ListGradeHistory": Scenario(
        in_region, lambda w, t: S.ListGradeHistoryRequest(parent=t.enterprise)
    ),
    SCORING + "ListAppeals": Scenario(
        in_region, lambda w, t: S.ListAppealsRequest(parent=t.enterprise), lambda r: _usccs(r.appeals)
    ),
    SCORING + "ReviewAppealOverride": Scenario(
        in_region,
        lambda w, t: S.ReviewAppealOverrideRequest(
            name=t.appeal, action=S.OVERRIDE_REVIEW_ACTION_CONFIRM, reason="复核维持"
        ),
    ),
    SCORING + "CreateCreditRepairApplication": Scenario(
        own,
        lambda w, t: S.CreateCreditRepairApplicationRequest(
            parent=t.enterprise,
            credit_repair_application=S.CreditRepairApplication(
                rule_code="SERIOUS_VIOLATION", commitment_letter="我单位承诺依法经营。"
            ),
        ),
    ),
    SCORING + "GetCreditRepairApplication": Scenario(
        in_region, lambda w, t: S.GetCreditRepairApplicationRequest(name=t.application)
    ),
    SCORING + "ListCreditRepairApplications": Scenario(
        in_region,
        lambda w, t: S.ListCreditRepairApplicationsRequest(parent=t.enterprise),
        lambda r: _usccs(r.credit_repair_applications),
    ),
    SCORING + "GrantCreditRepairApplication": Scenario(
        in_region, lambda w, t: S.GrantCreditRepairApplicationRequest(name=t.application, reason="整改到位")
    ),
    SCORING + "RefuseCreditRepairApplication": Scenario(
        in_region, lambda w, t: S.RefuseCreditRepairApplicationRequest(name=t.application, reason="材料不全")
    ),
    SCORING + "CreateDishonestyListing": Scenario(
        anyone,
        lambda w, t: S.CreateDishonestyListingRequest(
            parent=t.enterprise,
            dishonesty_listing=S.DishonestyListing(
                reason="严重违法失信", decision_reference="陕市监失信〔2026〕2号"
            ),
        ),
    ),
    SCORING + "RemoveDishonestyListing": Scenario(
        anyone, lambda w, t: S.RemoveDishonestyListingRequest(name=t.listing, reason="信用修复完成")
    ),
    SCORING + "ListDishonestyListings": Scenario(
        in_region,
        lambda w, t: S.ListDishonestyListingsRequest(parent=t.enterprise),
        lambda r: _usccs(r.dishonesty_listings),
    ),
}


def _usccs(decisions: Any) -> list[Target | str]:
    """The enterprises of listed decisions, `enterprises/{uscc}/...`."""
    return [d.name.split("/")[1] for d in decisions]


def test_every_method_of_every_service_has_a_scope_rule() -> None:
    assert set(SCENARIOS) == set(catalogue.method_roles()), (
        "audit the new or removed methods: who may call them on which resource, then list them here"
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    yield from four_services(Path(tmp_path_factory.mktemp("matrix")))


def expected(method: str, profile: Profile, target: Target) -> bool:
    return profile.role in catalogue.method_roles()[method] and SCENARIOS[method].rule(profile, target)


def visible(profile: Profile, item: str, world: World) -> bool:
    """Whether a listed USCC (or region code) is within the caller's scope."""
    if profile.role == Role.SYSTEM:
        return True
    region = item[2:8] if len(item) == 18 else item
    if profile.role in REGIONAL_ROLES:
        return bool(profile.region and region_contains(profile.region, region))
    return profile.role == Role.ENTERPRISE and item == profile.uscc


@pytest.mark.parametrize("method", sorted(SCENARIOS))
def test_each_caller_gets_what_its_role_and_scope_allow(world: World, method: str) -> None:
    wrong: list[str] = []
    for profile in world.profiles:
        for target in world.targets.values():
            allowed = expected(method, profile, target)
            try:
                response = world.call(method, SCENARIOS[method].request(world, target), profile.metadata)
                code = grpc.StatusCode.OK
            except grpc.RpcError as error:
                response, code = None, error.code()
                detail = error.details()
            else:
                detail = ""
            denied_codes = DENIED | (
                {grpc.StatusCode.NOT_FOUND} if profile.role == Role.ENTERPRISE else set()
            )
            if (allowed and code not in ALLOWED) or (not allowed and code not in denied_codes):
                wrong.append(
                    f"{profile.label} on {target.label}: {code.name} ({detail}); expected "
                    f"{'allowed' if allowed else 'denied'}"
                )
            listed = SCENARIOS[method].listed
            if response is not None and listed is not None:
                hidden = [item for item in listed(response) if not visible(profile, str(item), world)]
                if hidden:
                    wrong.append(f"{profile.label} on {target.label}: listed outside its scope: {hidden}")
    assert not wrong, "\n".join(wrong)
