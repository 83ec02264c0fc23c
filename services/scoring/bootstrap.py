"""Wiring: the scoring database, its unit of work, the grading policy, API servicer, event consumer and
the outbox relay of GradeChanged (and of the events of the decisions on grades), the worker that keeps the
dashboards' grade counts fresh; and the grading policy for an import of those decisions (`stage_history`)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, partial
from pathlib import Path

from integrity.scoring.v1 import scoring_pb2_grpc
from services.scoring.adapters.metrics import grade_readings
from services.scoring.adapters.model_store import promoted_scorecard_path
from services.scoring.adapters.policy_file import DEFAULT_POLICY_PATH, load_policy
from services.scoring.adapters.unit_of_work import ScoringUnitOfWork
from services.scoring.domain.policy import Policy
from services.scoring.entrypoints.consumer import ScoringEventHandler
from services.scoring.entrypoints.grpc import ScoringServicer
from services.scoring.entrypoints.summaries import SummaryRefresher
from services.scoring.manifest import SERVICE
from services.scoring.settings import ScoringSettings
from services.scoring.use_cases.history import stage_imported
from services.scoring.use_cases.summary import SummarySnapshots
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.consumer import EventConsumer
from shared.events import Event
from shared.grpc_server import ServiceApp
from shared.history_import import ImportOutcome
from shared.settings import Settings, get_settings
from shared.transport import kafka_options
from shared.wiring import outbox_relay, service_database

CONSUMER_GROUP = "integrity-scoring"


def build_app(
    settings: Settings,
    *,
    group_id: str = CONSUMER_GROUP,
    source_topics: list[str] | None = None,
    policy_path: Path = DEFAULT_POLICY_PATH,
    scorecard_path: Path | None = None,
    own: ScoringSettings | None = None,
) -> ServiceApp:
    """The scoring service. `group_id` and `source_topics` are overridable so a rebuild (or a test) can
    replay the sources from the start under a fresh consumer group. The scorecard is `scorecard_path`'s,
    else the promoted model's under settings.var_dir, else the policy file's own."""
    # The promoted learned scorecard (`integrity model promote`) when there is one, else the policy's own.
    scorecard_path = scorecard_path or promoted_scorecard_path(settings.var_dir)
    # Fails fast on a broken policy or scorecard file, before anything starts.
    policy = load_policy(policy_path, scorecard_path=scorecard_path)
    engine = service_database(settings, SERVICE)
    unit_of_work = partial(ScoringUnitOfWork, engine)
    handler = ScoringEventHandler(policy)
    consumer = EventConsumer(
        engine,
        settings.kafka_bootstrap_servers,
        group_id=group_id,
        topics=list(source_topics or SERVICE.consumes),
        handler=handler,
        batch_handler=handler.handle_batch,
        unit_of_work=unit_of_work,
        client_id="integrity-scoring",
        kafka=kafka_options(settings),
    )
    relay = outbox_relay(engine, settings, SERVICE)
    snapshots = SummarySnapshots()
    refresher = SummaryRefresher(unit_of_work, snapshots, (own or ScoringSettings()).summary_refresh_seconds)
    servicer = ScoringServicer(unit_of_work, policy, wake=relay.wake, snapshots=snapshots)
    return ServiceApp(
        manifest=SERVICE,
        servicers=[(scoring_pb2_grpc.add_ScoringServiceServicer_to_server, servicer)],
        workers=[consumer, relay],
        per_process=[refresher],  # each process's snapshot, for the SummarizeGrades it answers
        on_stop=[engine.dispose],
        settings=settings,
        readings=[grade_readings(engine)],
    )


def stage_history(uow: ScoringUoW, events: Sequence[Event], topic: str) -> list[ImportOutcome]:
    """`HistoryRules.stage` of scoring: the decisions of an imported history, graded with the policy the
    service grades with (the promoted scorecard, when there is one)."""
    return stage_imported(uow, _import_policy(get_settings().var_dir), events, topic)


@cache
def _import_policy(var_dir: Path) -> Policy:
    return load_policy(DEFAULT_POLICY_PATH, scorecard_path=promoted_scorecard_path(var_dir))
