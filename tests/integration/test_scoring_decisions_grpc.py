"""The decisions on grades over a real socket, on SQLite and PostgreSQL: a regulator's appeal queue and the
review of an override before it expires, an enterprise's credit repair application granted or refused,
and the national credit system's serious-dishonesty list feeding the policy's hard rule. Every refusal
changes nothing; every decision is an event in the outbox with who, when and why."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from integrity.scoring.v1 import scoring_pb2 as S
from integrity.scoring.v1 import scoring_pb2_grpc
from operations import catalogue
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import TABLES
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.entrypoints.consumer import ScoringEventHandler
from services.scoring.entrypoints.grpc import ScoringServicer
from shared.auth import Role, issue_token
from shared.db import create_tables, make_engine
from shared.events import Event, decode, utcnow
from shared.grpc_server import ServiceApp, start
from shared.outbox import OutboxRecord
from shared.settings import Settings
from tests.helpers import refusal
from tests.unit.scoring.fakes import Outcome, inspection, registration, uscc

pytestmark = pytest.mark.integration

XIAN_A, XIAN_B, XIAN_CLEAN = uscc(1, "610112"), uscc(2, "610113"), uscc(3, "610112")
BAOJI = uscc(4, "610302")
Metadata = tuple[tuple[str, str], ...]


@dataclass
class Desk:
    stub: scoring_pb2_grpc.ScoringServiceStub
    settings: Settings
    engine: Engine

    def auth(self, role: Role, **claims: str) -> Metadata:
        return (("authorization", f"Bearer {issue_token(self.settings, role, **claims)}"),)

    def enterprise(self, code: str) -> Metadata:
        return self.auth(Role.ENTERPRISE, uscc=code)

    @property
    def xian(self) -> Metadata:
        return self.auth(Role.REGULATOR, subject="wang.li", region="610100")

    @property
    def baoji(self) -> Metadata:
        return self.auth(Role.REGULATOR, subject="zhao.min", region="610300")

    @property
    def credit_system(self) -> Metadata:
        return self.auth(Role.SYSTEM, subject="national-credit-system")

    def grade(self, code: str) -> S.Grade:
        return self.stub.GetGrade(
            S.GetGradeRequest(name=f"enterprises/{code}/grade"), metadata=self.xian
        ).grade

    def outbox(self) -> list[Event]:
        with Session(self.engine) as session:
            return [decode(value) for value in session.exec(select(OutboxRecord.value))]

    def kinds(self) -> list[str | None]:
        return [event.WhichOneof("payload") for event in self.outbox()]


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> Iterator[Desk]:
    settings = Settings(var_dir=tmp_path / "var", scoring_database_url=database_url)
    engine = make_engine(database_url)
    create_tables(engine, TABLES)
    now = utcnow()
    handler = ScoringEventHandler(load_policy())
    events: list[Event] = []
    # Two Xi'an enterprises (counties 610112 and 610113) and a Baoji one with serious violations: A's is
    # 400 days old (repairable after a year), B's and Baoji's recent; and a clean Xi'an enterprise.
    for code, days in ((XIAN_A, 400), (XIAN_B, 20), (BAOJI, 20)):
        events += [
            registration(code, region=code[2:8], occurred_at=now - timedelta(days=days + 60)),
            inspection(code, now - timedelta(days=days + 30)),
            inspection(code, now - timedelta(days=days), Outcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION),
        ]
    events += [
        registration(XIAN_CLEAN, occurred_at=now - timedelta(days=90)),
        inspection(XIAN_CLEAN, now - timedelta(days=30)),
    ]
    for event in events:
        with ScoringUnitOfWork(engine) as uow:
            handler(uow, event, catalogue.INSPECTIONS.publishes)
            uow.commit()
    servicer = ScoringServicer(partial(ScoringUnitOfWork, engine), load_policy())
    app = ServiceApp(
        manifest=catalogue.SCORING,
        servicers=[(scoring_pb2_grpc.add_ScoringServiceServicer_to_server, servicer)],
        settings=settings,
    )
    running = start(app, 0)
    try:
        with grpc.insecure_channel(running.address) as channel:
            yield Desk(scoring_pb2_grpc.ScoringServiceStub(channel), settings, engine)
    finally:
        running.stop(grace=1)
        engine.dispose()


def denied(method: Any, request: Any, metadata: Metadata) -> bool:
    return refusal(method, request, metadata).code == grpc.StatusCode.PERMISSION_DENIED


def appeal(desk: Desk, code: str, reason: str = "检查时器具已送检，请复核。") -> S.Appeal:
    request = S.CreateAppealRequest(parent=f"enterprises/{code}", appeal=S.Appeal(reason=reason))
    return desk.stub.CreateAppeal(request, metadata=desk.enterprise(code)).appeal


def test_a_regulator_works_through_the_appeal_queue_and_reviews_an_override(desk: Desk) -> None:
    first, second, baoji = appeal(desk, XIAN_A), appeal(desk, XIAN_B), appeal(desk, BAOJI)
    pending = "state = APPEAL_STATE_PENDING"

    # The Xi'an regulator's queue: their region only, oldest first, page by page.
    page = desk.stub.ListAppeals(
        S.ListAppealsRequest(parent="enterprises/-", filter=pending, page_size=1), metadata=desk.xian
    )
    assert [a.name for a in page.appeals] == [first.name] and page.next_page_token
    rest = desk.stub.ListAppeals(
        S.ListAppealsRequest(
            parent="enterprises/-", filter=pending, page_size=1, page_token=page.next_page_token
        ),
        metadata=desk.xian,
    )
    assert [a.name for a in rest.appeals] == [second.name] and not rest.next_page_token
    county = desk.stub.ListAppeals(
        S.ListAppealsRequest(parent="enterprises/-", filter='region_code = "610113"'), metadata=desk.xian
    )
    assert [a.name for a in county.appeals] == [second.name]
    # The token belongs to its filter; another region is not the Baoji regulator's; bad filters are named.
    changed = S.ListAppealsRequest(parent="enterprises/-", page_size=1, page_token=page.next_page_token)
    assert refusal(desk.stub.ListAppeals, changed, desk.xian).fields == {"page_token"}
    outside = S.ListAppealsRequest(parent="enterprises/-", filter='region_code = "610100"')
    assert denied(desk.stub.ListAppeals, outside, desk.baoji)
    assert denied(desk.stub.ListAppeals, S.ListAppealsRequest(parent=f"enterprises/{XIAN_A}"), desk.baoji)
    bad = S.ListAppealsRequest(parent="enterprises/-", filter="state = OPEN")
    assert refusal(desk.stub.ListAppeals, bad, desk.xian).fields == {"filter"}
    # An enterprise sees its own appeals and nobody else's.
    own = desk.stub.ListAppeals(S.ListAppealsRequest(parent="enterprises/-"), metadata=desk.enterprise(BAOJI))
    assert [a.name for a in own.appeals] == [baoji.name]
    other = S.ListAppealsRequest(parent=f"enterprises/{XIAN_A}")
    assert denied(desk.stub.ListAppeals, other, desk.enterprise(BAOJI))

    # Accepted: B for 30 days. It is in the queue of overrides to review, no longer in the pending one.
    accept = S.AcceptAppealRequest(name=first.name, override_level=S.GRADE_LEVEL_B, reason="器具检定证书有效")
    accept.override_expire_time.FromDatetime(utcnow() + timedelta(days=30))
    accepted = desk.stub.AcceptAppeal(accept, metadata=desk.xian)
    assert accepted.grade.level == S.GRADE_LEVEL_B
    active = desk.stub.ListAppeals(
        S.ListAppealsRequest(parent="enterprises/-", filter="override_active = true"), metadata=desk.xian
    )
    assert [a.name for a in active.appeals] == [first.name]

    # A review: a later expiry is no shortening, and changes nothing; another region may not review.
    review = S.ReviewAppealOverrideRequest(
        name=first.name, action=S.OVERRIDE_REVIEW_ACTION_SHORTEN, reason="复核"
    )
    review.override_expire_time.FromDatetime(utcnow() + timedelta(days=60))
    assert refusal(desk.stub.ReviewAppealOverride, review, desk.xian).fields == {"override_expire_time"}
    review.override_expire_time.FromDatetime(utcnow() + timedelta(days=10))
    assert denied(desk.stub.ReviewAppealOverride, review, desk.baoji)
    assert desk.kinds().count("override_reviewed") == 0
    shortened = desk.stub.ReviewAppealOverride(review, metadata=desk.xian)
    assert shortened.appeal.override_expire_time == review.override_expire_time
    assert shortened.grade.level == S.GRADE_LEVEL_B
    [done] = shortened.appeal.override_reviews
    assert (done.action, done.reviewed_by, done.reason) == (
        S.OVERRIDE_REVIEW_ACTION_SHORTEN,
        "wang.li",
        "复核",
    )
    assert done.previous_expire_time == accept.override_expire_time

    # Lifted: the policy's grade again (the serious violation holds it at C), and nothing left to review.
    lift = S.ReviewAppealOverrideRequest(
        name=first.name, action=S.OVERRIDE_REVIEW_ACTION_LIFT, reason="整改未完成"
    )
    lifted = desk.stub.ReviewAppealOverride(lift, metadata=desk.xian)
    assert lifted.grade.level == S.GRADE_LEVEL_C and desk.grade(XIAN_A).level == S.GRADE_LEVEL_C
    assert [r.action for r in lifted.appeal.override_reviews] == [
        S.OVERRIDE_REVIEW_ACTION_SHORTEN,
        S.OVERRIDE_REVIEW_ACTION_LIFT,
    ]
    again = refusal(desk.stub.ReviewAppealOverride, lift, desk.xian)
    assert (again.code, again.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "OVERRIDE_ENDED")
    got = desk.stub.GetAppeal(S.GetAppealRequest(name=first.name), metadata=desk.enterprise(XIAN_A)).appeal
    assert len(got.override_reviews) == 2 and got.override_expire_time == lifted.appeal.override_expire_time

    reject = S.RejectAppealRequest(name=second.name, reason="证据不足")
    assert desk.stub.RejectAppeal(reject, metadata=desk.xian).appeal.state == S.APPEAL_STATE_REJECTED
    kinds = desk.kinds()
    assert kinds.count("appeal_filed") == 3 and kinds.count("appeal_rejected") == 1
    assert kinds.count("grade_overridden") == 1 and kinds.count("override_reviewed") == 2
    reviewed = [e.override_reviewed for e in desk.outbox() if e.WhichOneof("payload") == "override_reviewed"]
    assert [(r.reviewed_by, r.reason) for r in reviewed] == [("wang.li", "复核"), ("wang.li", "整改未完成")]


def apply(
    desk: Desk, code: str, letter: str = "本企业承诺诚信计量，接受社会监督。", request_id: str = ""
) -> S.CreditRepairApplication:
    request = S.CreateCreditRepairApplicationRequest(
        parent=f"enterprises/{code}",
        credit_repair_application=S.CreditRepairApplication(
            rule_code="SERIOUS_VIOLATION", commitment_letter=letter, rectification_statement="罚款已缴纳"
        ),
        request_id=request_id,
    )
    return desk.stub.CreateCreditRepairApplication(
        request, metadata=desk.enterprise(code)
    ).credit_repair_application


def test_an_enterprise_applies_for_credit_repair_and_a_regulator_decides(desk: Desk) -> None:
    before = desk.grade(XIAN_A)
    assert before.level == S.GRADE_LEVEL_C and before.reasons[0].code == "SERIOUS_VIOLATION"
    # No letter: refused by field, nothing recorded. Too early (B's violation is 20 days old): refused.
    no_letter = S.CreateCreditRepairApplicationRequest(
        parent=f"enterprises/{XIAN_A}",
        credit_repair_application=S.CreditRepairApplication(rule_code="SERIOUS_VIOLATION"),
    )
    refused = refusal(desk.stub.CreateCreditRepairApplication, no_letter, desk.enterprise(XIAN_A))
    assert refused.fields == {"credit_repair_application.commitment_letter"}
    early = refusal(
        desk.stub.CreateCreditRepairApplication,
        S.CreateCreditRepairApplicationRequest(
            parent=f"enterprises/{XIAN_B}",
            credit_repair_application=S.CreditRepairApplication(
                rule_code="SERIOUS_VIOLATION", commitment_letter="承诺"
            ),
        ),
        desk.enterprise(XIAN_B),
    )
    assert (early.code, early.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "REPAIR_TOO_EARLY")
    # Only for itself, and a regulator may not apply for it.
    assert denied(desk.stub.CreateCreditRepairApplication, no_letter, desk.enterprise(XIAN_B))
    assert denied(desk.stub.CreateCreditRepairApplication, no_letter, desk.xian)
    assert desk.kinds().count("credit_repair_applied") == 0

    # A first application is refused, with who and why; the enterprise applies again.
    first = apply(desk, XIAN_A)
    no_reason = S.RefuseCreditRepairApplicationRequest(name=first.name)
    assert refusal(desk.stub.RefuseCreditRepairApplication, no_reason, desk.xian).fields == {"reason"}
    refused_first = desk.stub.RefuseCreditRepairApplication(
        S.RefuseCreditRepairApplicationRequest(name=first.name, reason="承诺书未盖章"), metadata=desk.xian
    ).credit_repair_application
    assert refused_first.state == S.CREDIT_REPAIR_APPLICATION_STATE_REFUSED
    assert (refused_first.decided_by, refused_first.decision_reason) == ("wang.li", "承诺书未盖章")

    application = apply(desk, XIAN_A, request_id="f3b0c4c2-0d5e-4a7b-9f1e-2d3c4b5a6978")
    assert application.state == S.CREDIT_REPAIR_APPLICATION_STATE_PENDING
    assert application.applied_by == f"enterprise@{XIAN_A}"
    assert apply(desk, XIAN_A, request_id="f3b0c4c2-0d5e-4a7b-9f1e-2d3c4b5a6978").name == application.name
    twice = refusal(
        desk.stub.CreateCreditRepairApplication,
        S.CreateCreditRepairApplicationRequest(
            parent=f"enterprises/{XIAN_A}",
            credit_repair_application=S.CreditRepairApplication(
                rule_code="SERIOUS_VIOLATION", commitment_letter="再次"
            ),
        ),
        desk.enterprise(XIAN_A),
    )
    assert twice.reason == "APPLICATION_PENDING"

    queue = desk.stub.ListCreditRepairApplications(
        S.ListCreditRepairApplicationsRequest(
            parent="enterprises/-", filter="state = CREDIT_REPAIR_APPLICATION_STATE_PENDING"
        ),
        metadata=desk.xian,
    )
    assert [a.name for a in queue.credit_repair_applications] == [application.name]
    empty = desk.stub.ListCreditRepairApplications(
        S.ListCreditRepairApplicationsRequest(parent="enterprises/-"), metadata=desk.baoji
    )
    assert list(empty.credit_repair_applications) == []

    grant = S.GrantCreditRepairApplicationRequest(name=application.name, reason="整改到位，同意修复")
    assert denied(desk.stub.GrantCreditRepairApplication, grant, desk.baoji)
    no_reason = S.GrantCreditRepairApplicationRequest(name=application.name)
    assert refusal(desk.stub.GrantCreditRepairApplication, no_reason, desk.xian).fields == {"reason"}
    granted = desk.stub.GrantCreditRepairApplication(grant, metadata=desk.xian)
    decided = granted.credit_repair_application
    assert decided.state == S.CREDIT_REPAIR_APPLICATION_STATE_GRANTED
    assert (decided.decided_by, decided.decision_reason) == ("wang.li", "整改到位，同意修复")
    assert decided.credit_repair == granted.credit_repair.name
    assert granted.credit_repair.grade.score > before.score  # the serious record no longer weighs
    assert desk.grade(XIAN_A).level == granted.credit_repair.grade.level
    assert "SERIOUS_VIOLATION" not in [r.code for r in desk.grade(XIAN_A).reasons]
    repaired = [e for e in desk.outbox() if e.WhichOneof("payload") == "credit_repair_granted"]
    assert [e.credit_repair_granted.application for e in repaired] == [application.name]
    refuse = S.RefuseCreditRepairApplicationRequest(name=application.name, reason="重复")
    assert (
        refusal(desk.stub.RefuseCreditRepairApplication, refuse, desk.xian).reason
        == "APPLICATION_ALREADY_DECIDED"
    )

    # The enterprise reads its own application; every step is an event with who and why.
    own = desk.stub.GetCreditRepairApplication(
        S.GetCreditRepairApplicationRequest(name=application.name), metadata=desk.enterprise(XIAN_A)
    )
    assert own.credit_repair_application.state == S.CREDIT_REPAIR_APPLICATION_STATE_GRANTED
    kinds = desk.kinds()
    assert kinds.count("credit_repair_applied") == 2 and kinds.count("credit_repair_refused") == 1


def test_the_national_credit_system_lists_and_removes_an_enterprise(desk: Desk) -> None:
    before = desk.grade(XIAN_CLEAN)
    assert before.level < S.GRADE_LEVEL_D
    listing = S.DishonestyListing(
        reason="提供虚假计量检定证书",
        decision_reference="陕市监信〔2026〕12号",
        authority="陕西省市场监督管理局",
    )
    request = S.CreateDishonestyListingRequest(parent=f"enterprises/{XIAN_CLEAN}", dishonesty_listing=listing)
    # Only the system; a reference is required; the future is refused; nothing is written meanwhile.
    assert denied(desk.stub.CreateDishonestyListing, request, desk.xian)
    incomplete = S.CreateDishonestyListingRequest(
        parent=f"enterprises/{XIAN_CLEAN}", dishonesty_listing=S.DishonestyListing(reason="x")
    )
    assert refusal(desk.stub.CreateDishonestyListing, incomplete, desk.credit_system).fields == {
        "dishonesty_listing.decision_reference"
    }
    future = S.CreateDishonestyListingRequest()
    future.CopyFrom(request)
    future.dishonesty_listing.list_time.FromDatetime(utcnow() + timedelta(days=2))
    assert refusal(desk.stub.CreateDishonestyListing, future, desk.credit_system).fields == {
        "dishonesty_listing.list_time"
    }
    assert desk.kinds().count("dishonesty_listed") == 0 and desk.grade(XIAN_CLEAN) == before

    listed = desk.stub.CreateDishonestyListing(request, metadata=desk.credit_system)
    assert listed.grade.level == S.GRADE_LEVEL_D
    assert listed.grade.reasons[0].code == "SERIOUS_DISHONESTY_LIST"
    assert (
        listed.dishonesty_listing.active and listed.dishonesty_listing.listed_by == "national-credit-system"
    )
    twice = refusal(desk.stub.CreateDishonestyListing, request, desk.credit_system)
    assert twice.reason == "ALREADY_LISTED"
    # Not repairable: only the credit system's removal lifts it.
    repair = S.CreateCreditRepairRequest(
        parent=f"enterprises/{XIAN_CLEAN}",
        credit_repair=S.CreditRepair(rule_code="SERIOUS_DISHONESTY_LIST", reason="整改"),
    )
    assert refusal(desk.stub.CreateCreditRepair, repair, desk.xian).fields == {"credit_repair.rule_code"}

    seen = desk.stub.ListDishonestyListings(
        S.ListDishonestyListingsRequest(parent="enterprises/-", filter="active = true"), metadata=desk.xian
    )
    assert [item.name for item in seen.dishonesty_listings] == [listed.dishonesty_listing.name]
    assert not desk.stub.ListDishonestyListings(
        S.ListDishonestyListingsRequest(parent="enterprises/-"), metadata=desk.baoji
    ).dishonesty_listings
    mine = desk.stub.ListDishonestyListings(
        S.ListDishonestyListingsRequest(parent="enterprises/-"), metadata=desk.enterprise(XIAN_CLEAN)
    )
    assert len(mine.dishonesty_listings) == 1

    remove = S.RemoveDishonestyListingRequest(
        name=listed.dishonesty_listing.name, reason="陕市监信移〔2026〕3号"
    )
    removed = desk.stub.RemoveDishonestyListing(remove, metadata=desk.credit_system)
    assert (
        not removed.dishonesty_listing.active and removed.dishonesty_listing.removal_reason == remove.reason
    )
    assert removed.grade.level == before.level
    assert "SERIOUS_DISHONESTY_LIST" not in [r.code for r in desk.grade(XIAN_CLEAN).reasons]
    assert refusal(desk.stub.RemoveDishonestyListing, remove, desk.credit_system).reason == "ALREADY_REMOVED"
    events = [
        e for e in desk.outbox() if e.WhichOneof("payload") in ("dishonesty_listed", "dishonesty_removed")
    ]
    assert [e.dishonesty_listed.decision_reference or e.dishonesty_removed.reason for e in events] == [
        "陕市监信〔2026〕12号",
        "陕市监信移〔2026〕3号",
    ]
