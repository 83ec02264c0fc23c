"""Every service's metrics endpoint after a small workload: requests by method and status, the outbox drained
back to 0, the relay's publications, consumer lag and processing time, one dead letter for one poison
record, grades by level and region, and the time from an event to its grade."""

from __future__ import annotations

import urllib.request
import uuid
from functools import partial
from pathlib import Path

import grpc
import pytest
from kafka import KafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from integrity.enterprises.v1 import enterprises_pb2, enterprises_pb2_grpc
from operations.broker import LocalBroker, ensure_topics
from services.complaints.bootstrap import build_app as build_complaints
from services.enterprises.bootstrap import build_app as build_enterprises
from services.enterprises.manifest import TOPIC as ENTERPRISES_TOPIC
from services.inspections.bootstrap import build_app as build_inspections
from services.scoring.bootstrap import build_app as build_scoring
from shared.auth import Role, issue_token
from shared.grpc_server import RunningService, start
from shared.settings import Settings
from tests.helpers import create_enterprise, valid_uscc, wait_until

pytestmark = pytest.mark.integration
REGION = "610929"  # a county no other test uses
ENTERPRISES = 3

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(running: RunningService) -> Samples:
    assert running.metrics is not None
    with urllib.request.urlopen(f"http://{running.metrics.address}/metrics", timeout=10) as response:
        assert response.status == 200
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    """The sample `name` whose labels include `labels` (summed when several match); None when none does."""
    matching = [v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= ls]
    return sum(matching) if matching else None


def test_every_metrics_endpoint_shows_the_workload(tmp_path: Path, broker: LocalBroker) -> None:
    settings = Settings(
        var_dir=tmp_path,
        kafka_bootstrap_servers=broker.bootstrap,
        relay_poll_seconds=0.1,
        **{f"{s}_database_url": f"sqlite:///{tmp_path / f'{s}.db'}" for s in SERVICES},
    )
    # Scoring reads the enterprises topic and a topic of this test's own, under a group of its own.
    group, poison_topic = f"metrics-{uuid.uuid4().hex[:8]}", f"metrics.poison.{uuid.uuid4().hex[:8]}"
    ensure_topics(broker.bootstrap, [poison_topic])
    builders = {
        "enterprises": build_enterprises,
        "complaints": build_complaints,
        "inspections": build_inspections,
        "scoring": partial(build_scoring, group_id=group, source_topics=[ENTERPRISES_TOPIC, poison_topic]),
    }
    running: dict[str, RunningService] = {}
    try:
        for name, build in builders.items():
            running[name] = start(build(settings), 0, metrics_port=0)
        before = scrape(running["enterprises"])
        token = issue_token(settings, Role.SYSTEM, subject="registry")
        auth = [("authorization", f"Bearer {token}")]
        with grpc.insecure_channel(running["enterprises"].address) as channel:
            for serial in range(ENTERPRISES):
                create_enterprise(channel, valid_uscc(92900 + serial, region=REGION), REGION, token)
            stub = enterprises_pb2_grpc.EnterpriseServiceStub(channel)
            with pytest.raises(grpc.RpcError) as missing:
                stub.GetEnterprise(
                    enterprises_pb2.GetEnterpriseRequest(name=f"enterprises/{valid_uscc(92999, REGION)}"),
                    metadata=auth,
                    timeout=10,
                )
            assert missing.value.code() == grpc.StatusCode.NOT_FOUND
        with KafkaProducer(bootstrap_servers=broker.bootstrap) as producer:
            producer.send(poison_topic, key=b"x", value=b"\xff not an event").get(timeout=15)

        def graded() -> Samples | None:
            samples = scrape(running["scoring"])
            done = value(samples, "integrity_grades", region=REGION) == ENTERPRISES
            lettered = value(samples, "integrity_dead_letters_total", group=group) == 1
            return samples if done and lettered else None

        scoring = wait_until(graded, timeout=90, interval=0.5, message="grades or the dead letter missing")

        def drained() -> dict[str, Samples] | None:
            scraped = {name: scrape(service) for name, service in running.items()}
            backlogs = [value(s, "integrity_outbox_backlog", service=name) for name, s in scraped.items()]
            return scraped if all(backlog == 0 for backlog in backlogs) else None

        every = wait_until(drained, timeout=60, interval=0.5, message="an outbox did not drain")
    finally:
        for service in running.values():
            service.stop(1)

    for name, samples in every.items():
        assert value(samples, "integrity_outbox_oldest_age_seconds", service=name) == 0
        assert value(samples, "integrity_outbox_parked", service=name) == 0
        assert value(samples, "integrity_service_serving", service=name) == 1
    after = every["enterprises"]
    ok = {"grpc_method": "CreateEnterprise", "grpc_code": "OK"}
    assert (value(after, "grpc_server_handled_total", **ok) or 0) - (
        value(before, "grpc_server_handled_total", **ok) or 0
    ) == ENTERPRISES
    not_found = {"grpc_method": "GetEnterprise", "grpc_code": "NOT_FOUND"}
    assert (value(after, "grpc_server_handling_seconds_count", **not_found) or 0) >= 1
    assert (value(after, "grpc_server_handling_seconds_bucket", le="+Inf", **ok) or 0) >= ENTERPRISES
    published = {"service": "enterprises", "topic": ENTERPRISES_TOPIC}
    assert (value(after, "integrity_relay_published_total", **published) or 0) - (
        value(before, "integrity_relay_published_total", **published) or 0
    ) >= ENTERPRISES

    # The poison record: dead-lettered once, as undecodable; the valid events were processed and graded.
    letters = {"group": group, "topic": poison_topic, "reason": "undecodable"}
    assert value(scoring, "integrity_dead_letters_total", **letters) == 1
    assert (value(scoring, "integrity_consumer_events_total", group=group, topic=ENTERPRISES_TOPIC) or 0) >= 3
    assert (value(scoring, "integrity_consumer_batch_seconds_count", group=group) or 0) >= 1
    lags = [v for (n, ls), v in scoring.items() if n == "integrity_consumer_lag" and ("group", group) in ls]
    assert lags and all(lag >= 0 for lag in lags)
    assert value(scoring, "integrity_consumer_lag", group=group, topic=poison_topic) == 0
    to_grade = value(scoring, "integrity_event_to_grade_seconds_count", event_type="EnterpriseRegistered")
    assert to_grade is not None and to_grade >= ENTERPRISES


SERVICES = ("enterprises", "complaints", "inspections", "scoring")
