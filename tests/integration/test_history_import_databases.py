"""The history import on every supported database (SQLite, and PostgreSQL when TEST_POSTGRES_URL is set):
a demo province lands whole in the owning services' stores, and a second import changes nothing."""

from __future__ import annotations

from datetime import UTC, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session

from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from integrity.scoring.v1 import scoring_pb2
from operations.demo.province import generate_province
from operations.history.importer import import_lines
from services.enterprises.adapters.tables import TABLES, EnterpriseRow
from services.enterprises.adapters.unit_of_work import EnterprisesUnitOfWork
from services.enterprises.manifest import TOPIC
from services.enterprises.use_cases.history import stage_history
from services.scoring.adapters.policy_file import load_policy
from services.scoring.adapters.tables import TABLES as SCORING_TABLES
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.domain.grades import GradeLevel
from services.scoring.use_cases.history import stage_imported
from services.scoring.use_cases.ingest import ingest
from shared.cloudevents import to_json_line
from shared.db import create_tables, make_engine
from shared.history_import import IMPORTED
from shared.outbox import OutboxRecord
from shared.settings import Settings
from tests.history_builder import HistoryBuilder
from tests.unit.scoring.fakes import Outcome as InspectionOutcome
from tests.unit.scoring.fakes import inspection, registration
from tests.unit.scoring.test_scoring_decision_history import APPEAL, CODE, LISTING, T0, at, filed, overridden


def _count(url: str, table: object) -> int:
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            return int(session.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]
    finally:
        engine.dispose()


def test_a_demo_province_imports_whole_and_a_repeat_changes_nothing(
    service_database_urls: dict[str, str], tmp_path: Path
) -> None:
    settings = Settings(
        var_dir=tmp_path / "var", **{f"{s}_database_url": url for s, url in service_database_urls.items()}
    )
    province = list(generate_province(30, seed=9))
    events = sorted((e for h in province for e in h.events), key=lambda e: (e.occurred_at.ToDatetime(), e.id))
    lines = [(f"p.jsonl:{n}", to_json_line(e)) for n, e in enumerate(events, start=1)]
    problems: list[str] = []

    def report(where: str, message: str) -> None:
        problems.append(f"{where}: {message}")

    first = import_lines(settings, lines, report=report)
    assert problems == []
    assert first.total_imported == len(events) and first.rejected == 0
    owners = ("enterprises", "complaints", "inspections")
    outboxes = {s: _count(service_database_urls[s], OutboxRecord) for s in owners}
    assert sum(outboxes.values()) == len(events)
    assert _count(service_database_urls["enterprises"], EnterpriseRow) == len(province)

    again = import_lines(settings, lines, report=report)
    assert problems == []
    assert again.total_imported == 0 and again.already_present == len(events)
    assert {s: _count(service_database_urls[s], OutboxRecord) for s in outboxes} == outboxes


def test_one_batch_of_changes_and_declarations_reaches_the_registry(database_url: str) -> None:
    """The import use case on the SQL unit of work, without the importer's retry of a failed batch line by
    line: what the batch wrote earlier (a registration, a commitment) is updated later in the same batch."""
    builder = HistoryBuilder(seed=4)
    usccs = [builder.enterprise(serial) for serial in range(3)]
    for uscc in usccs:
        builder.changes(uscc, builder.start + timedelta(days=10))
    events = sorted(builder.events, key=lambda e: (e.occurred_at.ToDatetime(), e.id))
    engine = make_engine(database_url)
    try:
        create_tables(engine, TABLES)
        with EnterprisesUnitOfWork(engine) as uow:
            outcomes = stage_history(uow, events, TOPIC)
            uow.commit()
        assert outcomes == [IMPORTED] * len(events)
        last = {e.subject: e for e in events}  # each enterprise's last event is its suspension
        with EnterprisesUnitOfWork(engine) as uow:
            for uscc in usccs:
                enterprise = uow.enterprises.get(uscc)
                assert enterprise is not None and enterprise.display_name.endswith("（更名）")
                assert enterprise.status == enterprises_pb2.ENTERPRISE_STATUS_SUSPENDED
                assert enterprise.update_time == last[uscc].occurred_at.ToDatetime(tzinfo=UTC)
            for event in events:
                if event.HasField("commitment_withdrawn"):
                    commitment_id = event.commitment_withdrawn.commitment.name.rsplit("/", 1)[1]
                    commitment = uow.declarations.get_commitment(event.subject, commitment_id)
                    assert commitment is not None
                    assert commitment.withdraw_time == event.occurred_at.ToDatetime(tzinfo=UTC)
                if event.HasField("capability_declared"):
                    declaration_id = event.capability_declared.declaration.name.rsplit("/", 1)[1]
                    assert uow.declarations.get_capability(event.subject, declaration_id) is not None
            assert uow.present_event_ids([e.id for e in events]) == {e.id for e in events}
    finally:
        engine.dispose()


def test_one_batch_of_decisions_rebuilds_the_records_and_regrades(database_url: str) -> None:
    """Scoring's import use case on the SQL unit of work: an appeal filed, accepted and reviewed, another
    rejected, a repair application refused, a listing and its removal, all in one batch, each decision
    reading what the batch wrote before it."""
    engine = make_engine(database_url)
    try:
        create_tables(engine, SCORING_TABLES)
        with ScoringUnitOfWork(engine) as uow:
            for event in (
                registration(CODE, occurred_at=T0 - timedelta(days=100)),
                inspection(
                    CODE, T0 - timedelta(days=10), InspectionOutcome.INSPECTION_OUTCOME_SERIOUS_VIOLATION
                ),
            ):
                ingest(uow, load_policy(), event)
            uow.commit()
        second = f"enterprises/{CODE}/appeals/second"
        review = events_pb2.OverrideReviewed(
            appeal=APPEAL,
            action=scoring_pb2.OVERRIDE_REVIEW_ACTION_SHORTEN,
            reviewed_by="wang.li",
            reason="缩短",
        )
        review.expire_time.FromDatetime(T0 + timedelta(days=20))
        review.previous_expire_time.FromDatetime(T0 + timedelta(days=60))
        application = f"enterprises/{CODE}/creditRepairApplications/a1"
        batch = [
            filed(),
            overridden(),
            at(review, 3),
            filed(4, second),
            at(events_pb2.AppealRejected(appeal=second, decided_by="wang.li", reason="证据不足"), 5),
            at(
                events_pb2.CreditRepairApplied(
                    application=application,
                    rule_code="SERIOUS_VIOLATION",
                    commitment_letter="承诺",
                    applied_by="e",
                ),
                6,
            ),
            at(
                events_pb2.CreditRepairRefused(application=application, decided_by="wang.li", reason="太早"),
                7,
            ),
            at(
                events_pb2.DishonestyListed(
                    listing=LISTING, reason="r", decision_reference="1号", listed_by="c"
                ),
                8,
            ),
            at(events_pb2.DishonestyRemoved(listing=LISTING, reason="移出", removed_by="c"), 9),
        ]
        with ScoringUnitOfWork(engine) as uow:
            outcomes = stage_imported(uow, load_policy(), batch, "t", now=T0 + timedelta(days=400))
            uow.commit()
        assert outcomes == [IMPORTED] * len(batch)
        with ScoringUnitOfWork(engine) as uow:
            accepted = uow.appeals.get(APPEAL.rsplit("/", 1)[1])
            rejected = uow.appeals.get("second")
            refused = uow.applications.get("a1")
            listing = uow.listings.get(LISTING.rsplit("/", 1)[1])
            grade = uow.grades.get(CODE)
        assert accepted is not None and accepted.override_expire_at == T0 + timedelta(days=20)
        assert [(r.action, r.reviewed_by, r.reason) for r in accepted.reviews] == [
            ("SHORTEN", "wang.li", "缩短")
        ]
        assert rejected is not None and (rejected.state, rejected.decision_reason) == ("REJECTED", "证据不足")
        assert refused is not None and (refused.state, refused.decided_by) == ("REFUSED", "wang.li")
        assert listing is not None and not listing.active and listing.removed_by == "c"
        # As of the last decision: the override (B) holds until day 20; the listing has been removed.
        assert grade is not None and grade.level == GradeLevel.B
        assert grade.reasons[0].code == "REGULATOR_OVERRIDE"
    finally:
        engine.dispose()
