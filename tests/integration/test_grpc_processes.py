"""A service on two processes sharing its port (`<NAME>_GRPC_PROCESSES`, shared/processes.py), run as
`python -m services.enterprises`: calls over separate connections are answered by both processes, each
also answering health and reflection; every write lands once in the outbox and once on Kafka (the first
process alone relays); the metrics endpoint sums both; SIGTERM stops every process. SQLite (WAL) and
PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from sqlalchemy import create_engine, text

from integrity.enterprises.v1 import enterprises_pb2, enterprises_pb2_grpc
from operations.broker import LocalBroker
from services.enterprises.manifest import SERVICE, TOPIC
from shared.auth import issue_token
from shared.events import decode
from shared.settings import Settings
from tests.helpers import quiet_port, valid_uscc, wait_until
from tests.integration.kafka_reading import read_topic

REPO = Path(__file__).resolve().parents[2]
CONNECTIONS = 24


def log_lines(path: Path) -> list[dict[str, object]]:
    lines = []
    for line in path.read_text().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue  # a traceback's lines, say
    return lines


def start(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Path]:
    log = tmp_path / "service.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "services.enterprises"],
        env={**os.environ, "INTEGRITY_VAR_DIR": str(tmp_path / "var"), **env},
        cwd=REPO,
        stderr=log.open("w"),
    )
    return process, log


def create_over_new_connection(address: str, token: str, serial: int) -> None:
    """One connection (a local subchannel pool: channels to one address would otherwise share one), on
    which health, reflection and a write are answered by the same process."""
    options = [("grpc.use_local_subchannel_pool", 1)]
    with grpc.insecure_channel(address, options=options) as channel:
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=SERVICE.api), timeout=10
        )
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        listing = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=10
        )
        names = {s.name for response in listing for s in response.list_services_response.service}
        assert SERVICE.api in names
        enterprise = enterprises_pb2.Enterprise(
            uscc=valid_uscc(700000 + serial, "610112"),
            display_name=f"西安市多进程测试{serial}有限公司",
            region_code="610112",
            industry_code="5265",
            subject_type=enterprises_pb2.SUBJECT_TYPE_TRADE_INSTRUMENT_USER,
            registered_date="2015-06-30",
        )
        enterprises_pb2_grpc.EnterpriseServiceStub(channel).CreateEnterprise(
            enterprises_pb2.CreateEnterpriseRequest(enterprise=enterprise),
            metadata=(("authorization", f"Bearer {token}"),),
            timeout=10,
        )


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        body = response.read().decode()
    samples = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def test_two_processes_share_the_port_write_once_and_stop_together(
    tmp_path: Path, database_url: str, broker: LocalBroker
) -> None:
    port, metrics_port = quiet_port(), quiet_port()
    token = issue_token(Settings(var_dir=tmp_path / "var"), "system")  # the keys the service will read
    process, log = start(
        tmp_path,
        {
            "ENTERPRISES_PORT": str(port),
            "ENTERPRISES_METRICS_PORT": str(metrics_port),
            "ENTERPRISES_GRPC_PROCESSES": "2",
            "ENTERPRISES_DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "INTEGRITY_GRACE_SECONDS": "2",
        },
    )
    try:
        started = wait_until(
            lambda: [e for e in log_lines(log) if e["message"] == "serving from 2 processes"],
            timeout=60,
            message=f"not serving from 2 processes:\n{log.read_text()}",
        )
        children = set(started[0]["pids"])  # type: ignore[arg-type]
        assert len(children) == 2 and process.pid not in children

        for serial in range(CONNECTIONS):
            create_over_new_connection(f"127.0.0.1:{port}", token, serial)

        # Answered by both (the access log names the process), and by nobody else.
        answered = Counter(
            e["pid"]
            for e in log_lines(log)
            if e["message"] == "rpc" and "CreateEnterprise" in str(e["method"])
        )
        assert set(answered) == children, answered
        assert sum(answered.values()) == CONNECTIONS

        # Each write once in the outbox; the first process's relay publishes them, each once.
        engine = create_engine(database_url)
        try:
            published = wait_until(
                lambda: _outbox(engine) if all(at is not None for _, at in _outbox(engine)) else None,
                timeout=30,
                message="the outbox was not published",
            )
        finally:
            engine.dispose()
        event_ids = [event_id for event_id, _ in published]
        assert len(event_ids) == len(set(event_ids)) == CONNECTIONS
        on_kafka = Counter(decode(record.value).id for record in read_topic(broker.bootstrap, TOPIC))
        assert {event_id: on_kafka[event_id] for event_id in event_ids} == dict.fromkeys(event_ids, 1)
        relays = {e["pid"] for e in log_lines(log) if e["message"].startswith("outbox relay started")}  # type: ignore[union-attr]
        assert len(relays) == 1 and relays <= children

        # One metrics endpoint with both processes' figures.
        samples = scrape(metrics_port)
        created = (
            'grpc_server_handled_total{grpc_code="OK",grpc_method="CreateEnterprise",'
            'grpc_service="integrity.enterprises.v1.EnterpriseService"}'
        )
        assert samples[created] == CONNECTIONS
        assert samples['integrity_service_serving{service="enterprises"}'] == 1
        assert (
            samples[f'integrity_relay_published_total{{service="enterprises",topic="{TOPIC}"}}']
            == CONNECTIONS
        )

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        process.kill()
        process.wait()
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    stopped = {e["pid"] for e in log_lines(log) if e["message"] == "stopped"}
    assert stopped == children | {process.pid}


def _outbox(engine) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text("SELECT event_id, published_at FROM outbox"))]


def test_a_taken_port_stops_the_start_with_the_variable_to_change(tmp_path: Path) -> None:
    """SO_REUSEPORT would let the processes share a port another server holds: they must refuse it."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process, log = start(
            tmp_path,
            {
                "ENTERPRISES_PORT": str(port),
                "ENTERPRISES_GRPC_PROCESSES": "2",
                "INTEGRITY_METRICS_ENABLED": "false",
            },
        )
        assert process.wait(timeout=60) != 0
    assert "set ENTERPRISES_PORT to another port" in log.read_text()
