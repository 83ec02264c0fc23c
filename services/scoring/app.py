"""Wiring: the scoring database, API servicer, event consumer and GradeChanged outbox relay."""

from __future__ import annotations

from pathlib import Path

from integrity.scoring.v1 import scoring_pb2_grpc
from services.scoring.adapters.model_store import promoted_scorecard_path
from services.scoring.adapters.policy_file import DEFAULT_POLICY_PATH, load_policy
from services.scoring.handlers import ScoringEventHandler
from services.scoring.manifest import SERVICE
from services.scoring.servicer import ScoringServicer
from services.scoring.tables import SCORING_TABLES
from shared.consumer import EventConsumer
from shared.grpc_server import ServiceApp
from shared.inbox import ProcessedEvent
from shared.outbox import OutboxRecord
from shared.settings import Settings
from shared.wiring import outbox_relay, service_database

# Every table of the scoring database: created when the service (or an operator command) starts.
DATABASE_TABLES = [*SCORING_TABLES, OutboxRecord, ProcessedEvent]
CONSUMER_GROUP = "integrity-scoring"


def build_app(
    settings: Settings,
    *,
    group_id: str = CONSUMER_GROUP,
    source_topics: list[str] | None = None,
    policy_path: Path = DEFAULT_POLICY_PATH,
    scorecard_path: Path | None = None,
) -> ServiceApp:
    """The scoring service. `group_id` and `source_topics` are overridable so a rebuild (or a test) can
    replay the sources from the start under a fresh consumer group. The scorecard is `scorecard_path`'s,
    else the promoted model's under settings.var_dir, else the policy file's own."""
    # The promoted learned scorecard (`integrity model promote`) when there is one, else the policy's own.
    scorecard_path = scorecard_path or promoted_scorecard_path(settings.var_dir)
    # Fails fast on a broken policy or scorecard file, before anything starts.
    policy = load_policy(policy_path, scorecard_path=scorecard_path)
    engine = service_database(settings, SERVICE)
    consumer = EventConsumer(
        engine,
        settings.kafka_bootstrap_servers,
        group_id=group_id,
        topics=list(source_topics or SERVICE.consumes),
        handler=ScoringEventHandler(policy),
        client_id="integrity-scoring",
    )
    relay = outbox_relay(engine, settings, SERVICE)
    return ServiceApp(
        manifest=SERVICE,
        servicers=[(scoring_pb2_grpc.add_ScoringServiceServicer_to_server, ScoringServicer(engine, policy))],
        workers=[consumer, relay],
        on_stop=[engine.dispose],
        settings=settings,
    )
