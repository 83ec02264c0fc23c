"""Prometheus metrics of a service process, served on its metrics port (`<NAME>_METRICS_PORT`).

Counters and histograms are process-wide and labelled by who counts (the gRPC method, the relay's service,
the consumer's group). Figures that live in a database (the outbox backlog, grades by level) are read when
Prometheus scrapes, from the readings each running service registers (`readings`), so they are true after
a restart and across replicas without any state here.

Names follow Prometheus conventions; the gRPC ones are those of go-grpc-prometheus, which dashboards and
alerts already know. infra/prometheus/ and infra/grafana/ use them.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    multiprocess,
    start_http_server,
)
from prometheus_client import values as prometheus_values
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from shared.outbox import OutboxRecord

log = logging.getLogger("integrity.metrics")

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

RPC_HANDLED = Counter(
    "grpc_server_handled_total",
    "RPCs completed on the server, by method and status code",
    ["grpc_service", "grpc_method", "grpc_code"],
)
RPC_SECONDS = Histogram(
    "grpc_server_handling_seconds",
    "Time from the call's start to its status, by method and status code",
    ["grpc_service", "grpc_method", "grpc_code"],
    buckets=_LATENCY_BUCKETS,
)
RELAY_PUBLISHED = Counter(
    "integrity_relay_published_total", "Outbox rows the broker acknowledged", ["service", "topic"]
)
RELAY_PARKED = Counter(
    "integrity_relay_parked_total",
    "Outbox rows parked: the broker refuses them for good",
    ["service", "topic"],
)
RELAY_FAILED_PASSES = Counter(
    "integrity_relay_failed_passes_total", "Relay passes stopped by a broker or database error", ["service"]
)
CONSUMED = Counter(
    "integrity_consumer_events_total",
    "Events applied by a consumer group (skipped repeats not counted)",
    ["group", "topic"],
)
CONSUMER_BATCH_SECONDS = Histogram(
    "integrity_consumer_batch_seconds",
    "Time to apply one poll batch in its transaction",
    ["group"],
    buckets=_LATENCY_BUCKETS,
)
CONSUMER_LAG = Gauge(
    "integrity_consumer_lag",
    "Records between a partition's end and the consumer's position",
    ["group", "topic", "partition"],
    multiprocess_mode="livemax",  # only the first of several processes consumes (shared.processes)
)
DEAD_LETTERS = Counter(
    "integrity_dead_letters_total",
    "Records sent to the dead-letter topic, by why: undecodable (not an event), rejected (the handler "
    "refused it), or the error's type",
    ["group", "topic", "reason"],
)


SERVING = Gauge(
    "integrity_service_serving",
    "1 while the service answers SERVING on gRPC health, 0 while it drains",
    ["service"],
    multiprocess_mode="livemin",  # of several processes: 1 while every one serves
)


def observe_rpc(method: str, code: str, seconds: float) -> None:
    """One completed call: `method` is the full name, `/integrity.x.v1.XService/Method`."""
    service, _, name = method.lstrip("/").rpartition("/")
    RPC_HANDLED.labels(service, name, code).inc()
    RPC_SECONDS.labels(service, name, code).observe(seconds)


def count_published(service: str, topics: Iterable[str], *, parked: bool = False) -> None:
    counter = RELAY_PARKED if parked else RELAY_PUBLISHED
    for topic in topics:
        counter.labels(service, topic).inc()


def observe_lag(group: str, consumer: Any) -> None:
    """Per partition assigned to a KafkaConsumer: the broker's end (as of its last fetch) minus the
    consumer's position. Never raises: a metric is not worth failing a batch for."""
    try:
        for partition in consumer.assignment():
            end = consumer.highwater(partition)
            if end is not None:
                lag = max(0, end - consumer.position(partition, timeout_ms=1000))
                CONSUMER_LAG.labels(group, partition.topic, str(partition.partition)).set(lag)
    except Exception as exc:
        log.debug("consumer %s could not measure its lag: %s", group, exc)


# --- figures read from the databases at scrape time -------------------------------------------------------


@dataclass(frozen=True)
class Reading:
    """One gauge sample: the metric's name (declared with `describe`), its labels and value."""

    name: str
    labels: dict[str, str]
    value: float


ReadingSource = Callable[[], Iterable[Reading]]

_DOCUMENTATION: dict[str, str] = {}


def describe(name: str, documentation: str) -> str:
    """Declares a gauge that readings may carry; returns its name."""
    _DOCUMENTATION[name] = documentation
    return name


OUTBOX_BACKLOG = describe("integrity_outbox_backlog", "Outbox rows waiting to be published (parked excluded)")
OUTBOX_OLDEST_AGE = describe(
    "integrity_outbox_oldest_age_seconds", "Age of the oldest row waiting to be published (0 when none)"
)
OUTBOX_PARKED = describe(
    "integrity_outbox_parked", "Outbox rows parked: `integrity outbox parked` lists them"
)


class _ScrapedGauges:
    """A collector that asks every registered source at scrape time; a failing source is logged and left
    out, so one unreachable database cannot hide the other figures."""

    def __init__(self) -> None:
        self._sources: dict[object, ReadingSource] = {}
        self._lock = threading.Lock()

    def add(self, key: object, source: ReadingSource) -> None:
        with self._lock:
            self._sources[key] = source

    def remove(self, key: object) -> None:
        with self._lock:
            self._sources.pop(key, None)

    def describe(self) -> list[Any]:
        return []  # names are not known up front; nothing to check at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            sources = list(self._sources.values())
        families: dict[str, GaugeMetricFamily] = {}
        for source in sources:
            try:
                readings = list(source())
            except Exception as exc:
                log.warning("a metrics source failed (%s); its figures are left out of this scrape", exc)
                continue
            for reading in readings:
                keys = sorted(reading.labels)
                family = families.get(reading.name)
                if family is None:
                    family = families[reading.name] = GaugeMetricFamily(
                        reading.name, _DOCUMENTATION.get(reading.name, reading.name), labels=keys
                    )
                family.add_metric([reading.labels[k] for k in keys], reading.value)
        yield from families.values()


_SCRAPED = _ScrapedGauges()
REGISTRY.register(_SCRAPED)


def outbox_readings(engine: Engine, service: str) -> ReadingSource:
    """The backlog, its oldest row's age and the parked rows of a service's outbox."""

    def read() -> list[Reading]:
        waiting = col(OutboxRecord.published_at).is_(None) & col(OutboxRecord.parked_at).is_(None)
        with Session(engine) as session:
            backlog, oldest = session.exec(
                select(func.count(), func.min(OutboxRecord.recorded_at)).where(waiting)
            ).one()
            parked = session.exec(select(func.count()).where(col(OutboxRecord.parked_at).is_not(None))).one()
        age = 0.0
        if oldest is not None:
            oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)  # SQLite hands back naive UTC
            age = max(0.0, (datetime.now(UTC) - oldest).total_seconds())
        labels = {"service": service}
        return [
            Reading(OUTBOX_BACKLOG, labels, float(backlog)),
            Reading(OUTBOX_OLDEST_AGE, labels, age),
            Reading(OUTBOX_PARKED, labels, float(parked)),
        ]

    return read


# --- the endpoint -----------------------------------------------------------------------------------------


def use_multiprocess(directory: str) -> None:
    """Before a service forks its processes (shared.processes): each then writes its figures to files in
    `directory`, and the endpoint sums them. The children inherit the variable and the value class."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    prometheus_values.ValueClass = prometheus_values.MultiProcessValue()


def forget_process(pid: int) -> None:
    """A process of the service ended: its live gauges leave the sums."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(pid)


def _registry() -> CollectorRegistry:
    """This process's figures; with several processes, all of theirs summed, and the database readings."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(_SCRAPED)
    return registry


class MetricsEndpoint:
    """The HTTP endpoint (`GET /metrics`) of one running service, and the readings it registered."""

    def __init__(self, host: str, port: int, sources: Iterable[ReadingSource]) -> None:
        self._server, self._thread = start_http_server(port, addr=host, registry=_registry())
        self.port: int = self._server.server_port
        self.address = f"{host}:{self.port}"
        self._keys = []
        for source in sources:
            key = object()
            _SCRAPED.add(key, source)
            self._keys.append(key)

    def stop(self) -> None:
        for key in self._keys:
            _SCRAPED.remove(key)
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
