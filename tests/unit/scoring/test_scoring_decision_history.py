"""Importing the decisions on grades (use_cases/history.py) on the fake unit of work: each decision needs
what it decides on earlier in the history, is refused in the words of the API, and a refusal writes
nothing; accepted ones rebuild the records and regrade the enterprise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message

from integrity.events.v1 import events_pb2
from integrity.scoring.v1 import scoring_pb2
from services.scoring.adapters.policy_file import load_policy
from services.scoring.domain.appeals import ACCEPTED
from services.scoring.domain.grades import GradeLevel
from services.scoring.use_cases.history import stage_imported
from services.scoring.use_cases.ingest import ingest
from shared.events import Event, new_event
from shared.history_import import Outcome
from tests.unit.scoring.fakes import (
    FakeScoringUnitOfWork,
    inspection,
    registration,
    uscc,
)
from tests.unit.scoring.fakes import (
    Outcome as InspectionOutcome,
)

POLICY = load_policy()
CODE = uscc(7)
T0 = datetime(2025, 3, 1, 2, 0, tzinfo=UTC)
APPEAL = f"enterprises/{CODE}/appeals/4b1e0a2c-0000-4000-8000-000000000001"
LISTING = f"enterprises/{CODE}/dishonestyListings/4b1e0a2c-0000-4000-8000-000000000002"


def at(payload: Message, days: float, subject: str = CODE) -> Event:
    return new_event("//integrity/scoring", subject, payload, occurred_at=T0 + timedelta(days=days))


def filed(days: float = 1, name: str = APPEAL) -> Event:
    return at(
        events_pb2.AppealFiled(
            appeal=name,
            reason="请复核",
            appealed_level=scoring_pb2.GRADE_LEVEL_D,
            filed_by=f"enterprise@{CODE}",
        ),
        days,
    )


def overridden(days: float = 2, expire_days: float = 60, level: int = scoring_pb2.GRADE_LEVEL_B) -> Event:
    payload = events_pb2.GradeOverridden(appeal=APPEAL, level=level, decided_by="wang.li", reason="复核属实")  # type: ignore[arg-type]
    payload.expire_time.FromDatetime(T0 + timedelta(days=expire_days))
    return at(payload, days)


def graded_uow() -> FakeScoringUnitOfWork:
    """An enterprise known to scoring, held at C (or worse) by a serious violation."""
    uow = FakeScoringUnitOfWork()
    with uow:
        for event in (
            registration(CODE, occurred_at=T0 - timedelta(days=100)),
            inspection(CODE, T0 - timedelta(days=10), InspectionOutcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION),
        ):
            ingest(uow, POLICY, event)
        uow.commit()
    return uow


def stage(uow: FakeScoringUnitOfWork, *events: Event) -> list[str]:
    """Each event's outcome ("imported", "present" or the refusal's message), committed."""
    with uow:
        outcomes = stage_imported(uow, POLICY, list(events), "t", now=T0 + timedelta(days=400))
        uow.commit()
    return [o.message if o.outcome is Outcome.REFUSED else o.outcome.value for o in outcomes]


def test_an_accepted_appeal_rebuilds_the_appeal_and_overrides_the_grade() -> None:
    uow = graded_uow()
    assert uow.grade_rows[CODE].level >= GradeLevel.C
    decisions = [filed(), overridden()]
    assert stage(uow, *decisions) == ["imported", "imported"]
    [appeal] = uow.appeal_rows.values()
    assert (appeal.state, appeal.decided_by, appeal.decision_reason) == (ACCEPTED, "wang.li", "复核属实")
    assert appeal.created_at == T0 + timedelta(days=1) and appeal.decided_at == T0 + timedelta(days=2)
    assert uow.grade_rows[CODE].level == GradeLevel.B
    assert [kind for kind in uow.published_kinds() if kind != "grade_changed"] == [
        "appeal_filed",
        "grade_overridden",
    ]
    # The same events again are present; another filing under the same appeal name is refused.
    assert stage(uow, *decisions) == ["present", "present"]
    assert stage(uow, filed()) == [f"AppealFiled: {APPEAL} already exists"]


def test_a_decision_needs_what_it_decides_on_earlier_in_the_history() -> None:
    uow = graded_uow()
    published = uow.published_kinds()
    assert stage(uow, overridden()) == [
        f"GradeOverridden: {APPEAL} (its AppealFiled must come earlier) does not exist"
    ]
    removed = at(events_pb2.DishonestyRemoved(listing=LISTING, reason="移出", removed_by="credit"), 3)
    assert stage(uow, removed) == [
        f"DishonestyRemoved: {LISTING} (its DishonestyListed must come earlier) does not exist"
    ]
    assert uow.appeal_rows == {} and uow.listing_rows == {} and uow.published_kinds() == published


def test_decisions_are_refused_in_the_words_of_the_api_and_write_nothing() -> None:
    uow = graded_uow()
    too_long = overridden(expire_days=2 + POLICY.override_max_days + 1)
    no_reason = at(events_pb2.AppealRejected(appeal=APPEAL, decided_by="wang.li"), 2)
    elsewhere = filed(name=f"enterprises/{uscc(8)}/appeals/x")
    outcomes = stage(uow, filed(), too_long, no_reason, elsewhere)
    assert outcomes[0] == "imported"
    assert outcomes[1].startswith(
        "GradeOverridden: override_expire_time: must be after now and at most 365 days"
    )
    assert outcomes[2] == "AppealRejected: reason: is required"
    assert outcomes[3] == f"AppealFiled: appeal: names {uscc(8)} but the event subject is {CODE}"
    [appeal] = uow.appeal_rows.values()
    assert appeal.state == "PENDING" and uow.grade_rows[CODE].level == GradeLevel.C


def test_a_review_must_say_the_expiry_its_action_sets() -> None:
    uow = graded_uow()
    payload = events_pb2.OverrideReviewed(
        appeal=APPEAL,
        action=scoring_pb2.OVERRIDE_REVIEW_ACTION_LIFT,
        reviewed_by="wang.li",
        reason="整改未完成",
    )
    payload.expire_time.FromDatetime(T0 + timedelta(days=30))  # a LIFT ends the override at its own time
    wrong = at(payload, 5)
    lifted = events_pb2.OverrideReviewed()
    lifted.CopyFrom(payload)
    lifted.expire_time.FromDatetime(T0 + timedelta(days=5))
    lifted.previous_expire_time.FromDatetime(T0 + timedelta(days=60))
    outcomes = stage(uow, filed(), overridden(), wrong, at(lifted, 5))
    assert (
        outcomes[2]
        == f"OverrideReviewed: expire_time: must be {(T0 + timedelta(days=5)).isoformat()} for LIFT"
    )
    assert outcomes[3] == "imported"
    [appeal] = uow.appeal_rows.values()
    assert appeal.override_expire_at == T0 + timedelta(days=5) and len(uow.review_rows[appeal.id]) == 1
    assert uow.grade_rows[CODE].level == GradeLevel.C  # lifted: the policy's grade (C) again


def test_a_listing_holds_the_enterprise_at_d_until_its_removal() -> None:
    uow = FakeScoringUnitOfWork()
    with uow:
        ingest(uow, POLICY, registration(CODE, occurred_at=T0 - timedelta(days=100)))
        ingest(uow, POLICY, inspection(CODE, T0 - timedelta(days=50)))
        uow.commit()
    before = uow.grade_rows[CODE].level
    listed = at(
        events_pb2.DishonestyListed(
            listing=LISTING, reason="伪造证书", decision_reference="陕市监信〔2025〕1号", listed_by="credit"
        ),
        1,
    )
    second = at(
        events_pb2.DishonestyListed(
            listing=LISTING.replace("0002", "0003"),
            reason="再次",
            decision_reference="2号",
            listed_by="credit",
        ),
        2,
    )
    removed = at(
        events_pb2.DishonestyRemoved(listing=LISTING, reason="信用修复后移出", removed_by="credit"), 200
    )
    outcomes = stage(uow, listed, second)
    assert outcomes[0] == "imported" and outcomes[1].startswith(
        f"DishonestyListed: enterprise {CODE} is listed already"
    )
    assert uow.grade_rows[CODE].level == GradeLevel.D
    assert uow.grade_rows[CODE].reasons[0].code == "SERIOUS_DISHONESTY_LIST"
    assert stage(uow, removed) == ["imported"]
    assert uow.grade_rows[CODE].level == before
    [listing] = uow.listing_rows.values()
    assert (listing.removed_by, listing.removal_reason) == ("credit", "信用修复后移出")


def test_a_granted_application_must_repair_the_rule_it_asked_for() -> None:
    uow = graded_uow()
    application = f"enterprises/{CODE}/creditRepairApplications/a1"
    applied = at(
        events_pb2.CreditRepairApplied(
            application=application, rule_code="SERIOUS_VIOLATION", commitment_letter="承诺", applied_by="e"
        ),
        1,
    )
    other_rule = at(
        events_pb2.CreditRepairGranted(
            credit_repair=f"enterprises/{CODE}/creditRepairs/r1",
            rule_code="REFUSED_INSPECTION",
            decided_by="wang.li",
            reason="同意",
            application=application,
        ),
        2,
    )
    outcomes = stage(uow, applied, other_rule)
    assert outcomes == [
        "imported",
        f"CreditRepairGranted: rule_code: must be SERIOUS_VIOLATION, the rule of {application}",
    ]
    assert uow.repair_rows == {} and [a.state for a in uow.application_rows.values()] == ["PENDING"]
