"""The console: the regulator's risk-list page and dashboard over a large scoring database, against a bare
ASGI endpoint served the same way in the same run.

Scoring (with its grades), complaints and inspections run as their own processes, the console as its own
(`python -m console`, uvicorn), and so does the bare endpoint (uvicorn, one route answering "ok"); client
threads of this process sign in once each and fetch pages over HTTP. Server time is the console's
Server-Timing header (from request to the response's first byte, its gRPC calls included); client time is
the whole round trip. The risk-list page is the first page (50 rows) of a region's level-C list.

    .venv/bin/python bench/console.py [--enterprises 1000000] [--calls 400] [--concurrency 8]

Target from the issue: risk-list page p99 under 300 ms over 1,000,000 grades. The scoring database is
written directly (projection, current grade and its history rows, as scoring's ingest leaves them),
which is much faster than grading the events; bench/scoring.py measures the grading itself.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import LoadResult, drive
from bench.scoring import code_of, fresh_engine
from integrity.scoring.v1 import scoring_pb2, scoring_pb2_grpc
from services.scoring.adapters.tables import EnterpriseProjection, GradeHistoryRow, GradeRow
from shared.auth import Role, issue_token
from shared.settings import Settings
from tests.helpers import free_port

REPO = Path(__file__).resolve().parent.parent
# Counties of Shaanxi's ten cities, so the dashboard groups by city and the map has something to shade.
COUNTIES = [f"61{city:02d}{county:02d}" for city in range(1, 11) for county in (2, 3, 4, 22)]
LEVELS = (1, 2, 3, 4)
LEVEL_WEIGHTS = (0.2, 0.5, 0.2, 0.1)
REASONS = '[{"code": "INSPECTION_VIOLATIONS", "text": "Violations found", "text_zh": "检查发现违法"}]'
BARE_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})
"""


def seed_grades(directory: str, enterprises: int) -> str:
    """A scoring database with `enterprises` graded enterprises; returns its URL."""
    engine = fresh_engine(directory, "scoring")
    rng = random.Random(15)
    now = datetime.now(UTC)
    projections, grades, history = [], [], []
    for i in range(enterprises):
        code, region = code_of(i), COUNTIES[i % len(COUNTIES)]
        level = rng.choices(LEVELS, LEVEL_WEIGHTS)[0]
        as_of = now - timedelta(days=rng.randrange(0, 365))
        first = as_of - timedelta(days=rng.randrange(30, 700))
        probability = 0.01 + 0.08 * level * rng.random()
        projections.append(
            {"uscc": code, "display_name": f"陕西省基准测试企业{i}有限公司", "region_code": region,
             "industry_code": "F5265", "subject_type": "SUBJECT_TYPE_TRADE_INSTRUMENT_USER",
             "registered_date": "2018-03-01", "registered_at": first, "last_event_id": f"bench-{i}"}
        )  # fmt: skip
        grade = {"uscc": code, "level": level, "score": 640 - 20 * level, "provisional": i % 5 == 0,
                 "reasons": REASONS, "as_of": as_of, "model_version": "bench", "policy_version": "bench",
                 "feature_version": "bench", "violation_probability": probability}  # fmt: skip
        grades.append({**grade, "updated_at": as_of})
        history.append({**grade, "level": 2, "as_of": first, "previous_level": None, "recorded_at": first,
                        "cause_event_id": f"bench-{i}"})  # fmt: skip
        if level != 2:
            history.append(
                {**grade, "previous_level": 2, "recorded_at": as_of, "cause_event_id": f"bench-{i}-2"}
            )
        if len(grades) >= 20000 or i == enterprises - 1:
            with engine.begin() as connection:
                connection.execute(EnterpriseProjection.__table__.insert(), projections)  # type: ignore[attr-defined]
                connection.execute(GradeRow.__table__.insert(), grades)  # type: ignore[attr-defined]
                connection.execute(GradeHistoryRow.__table__.insert(), history)  # type: ignore[attr-defined]
            projections, grades, history = [], [], []
    engine.dispose()
    return f"sqlite:///{directory}/scoring.db"


def seeded_database(directory: str, enterprises: int, keep: Path | None) -> str:
    """The scoring database's URL: seeded in `directory`, or in `keep` (reused when it was seeded there
    with the same number of enterprises)."""
    if keep is None:
        return seed_grades(directory, enterprises)
    keep.mkdir(parents=True, exist_ok=True)
    marker = keep / "enterprises.txt"
    if not (marker.exists() and marker.read_text().strip() == str(enterprises)):
        (keep / "scoring.db").unlink(missing_ok=True)
        seed_grades(str(keep), enterprises)
        marker.write_text(str(enterprises))
    return f"sqlite:///{keep.resolve()}/scoring.db"


def wait_http(url: str, process: subprocess.Popen[bytes], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def signed_in_client(base: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=180, follow_redirects=False)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/sign-in").text)
    assert csrf is not None
    response = client.post("/sign-in/token", data={"token": token, "csrf_token": csrf.group(1), "next": "/"})
    assert response.status_code == 303, response.text
    return client


def page_driver(base: str, token: str, path: str, server_ms: list[float]) -> Callable[[int], None]:
    """call(i): one GET of `path` by the calling thread's signed-in client; records the server time."""
    local = threading.local()
    lock = threading.Lock()

    def call(_i: int) -> None:
        if not hasattr(local, "client"):
            local.client = signed_in_client(base, token)
        response = local.client.get(path)
        if response.status_code != 200:
            raise RuntimeError(f"{path}: {response.status_code} {response.text[:300]}")
        timing = re.search(r"dur=([0-9.]+)", response.headers.get("server-timing", ""))
        if timing:
            with lock:
                server_ms.append(float(timing.group(1)))

    return call


def risk_list_call(address: str, token: str) -> Callable[[int], None]:
    """The gRPC call the risk-list page makes, straight to scoring: what the console adds is the rest."""
    channel = grpc.insecure_channel(address)
    stub = scoring_pb2_grpc.ScoringServiceStub(channel)
    request = scoring_pb2.ListRiskEntriesRequest(
        filter='region_code = "610100" AND level = GRADE_LEVEL_C', page_size=50
    )
    metadata = (("authorization", f"Bearer {token}"),)
    return lambda _i: stub.ListRiskEntries(request, metadata=metadata, timeout=60) and None


def bare_driver(base: str) -> Callable[[int], None]:
    local = threading.local()

    def call(_i: int) -> None:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base, timeout=60)
        local.client.get("/").raise_for_status()

    return call


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def report(name: str, result: LoadResult, server_ms: list[float], bare: LoadResult) -> None:
    server = f"server p50 {statistics.median(server_ms):7.1f} ms  p99 {percentile(server_ms, 0.99):7.1f} ms"
    median, p99 = statistics.median(result.latencies_ms), result.percentile(0.99)
    trip = f"round trip p50 {median:7.1f} ms  p99 {p99:7.1f} ms"
    ratio = result.percentile(0.99) / bare.percentile(0.99)
    print(
        f"  {name:<22} {server}   {trip}   {result.throughput:6.1f}/s  ({ratio:.0f}x the bare round-trip p99)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--enterprises", type=int, default=100_000, help="graded enterprises (default 100000)"
    )
    parser.add_argument("--calls", type=int, default=400, help="page loads per measurement (default 400)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="seed the scoring database into DIR and keep it; reused by a later run of the same size",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-console-") as directory:
        started = time.perf_counter()
        scoring_url = seeded_database(directory, args.enterprises, args.keep)
        seconds = time.perf_counter() - started
        print(f"console over {args.enterprises:,} grades: database ready in {seconds:.0f} s")
        ports = {
            name: free_port() for name in ("enterprises", "complaints", "inspections", "scoring", "console")
        }
        env = {
            **os.environ,
            "INTEGRITY_VAR_DIR": f"{directory}/var",
            "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}",  # none: the services keep their outbox
            "SCORING_DATABASE_URL": scoring_url,
            "COMPLAINTS_DATABASE_URL": f"sqlite:///{directory}/complaints.db",
            "INSPECTIONS_DATABASE_URL": f"sqlite:///{directory}/inspections.db",
            "INTEGRITY_LOG_LEVEL": "WARNING",
            **{f"{name.upper()}_PORT": str(port) for name, port in ports.items()},
        }
        settings = Settings(var_dir=Path(directory) / "var")
        token = issue_token(settings, Role.REGULATOR, region="610000")  # also creates the stack's keys
        bare_port = free_port()
        commands = [
            [sys.executable, "-m", "services.scoring"],
            [sys.executable, "-m", "services.complaints"],
            [sys.executable, "-m", "services.inspections"],
            [sys.executable, "-m", "console"],
            [
                sys.executable,
                "-c",
                BARE_APP + f"\nimport uvicorn; uvicorn.run(app, port={bare_port}, log_level='warning')",
            ],
        ]
        log = open(f"{directory}/processes.log", "wb")  # noqa: SIM115  # closed with the directory
        processes = [subprocess.Popen(c, env=env, cwd=REPO, stdout=log, stderr=log) for c in commands]
        try:
            base = f"http://127.0.0.1:{ports['console']}"
            wait_http(f"{base}/healthz", processes[3])
            wait_http(f"http://127.0.0.1:{bare_port}/", processes[4])
            risk_path = "/regulator/risk?region=610100&level=GRADE_LEVEL_C"
            for path in (risk_path, "/regulator"):  # warm up (and wait for the services to serve)
                deadline = time.monotonic() + 600
                while True:
                    try:
                        page_driver(base, token, path, [])(0)
                        break
                    except (RuntimeError, httpx.HTTPError):
                        if time.monotonic() > deadline:
                            raise
                        time.sleep(1)
            drive("warm-up", bare_driver(f"http://127.0.0.1:{bare_port}"), 200, args.concurrency)
            bare = drive(
                "bare ASGI", bare_driver(f"http://127.0.0.1:{bare_port}"), args.calls, args.concurrency
            )
            risk_ms: list[float] = []
            risk = drive(
                "risk list", page_driver(base, token, risk_path, risk_ms), args.calls, args.concurrency
            )
            grpc_call = risk_list_call(f"127.0.0.1:{ports['scoring']}", token)
            drive("warm-up", grpc_call, 50, args.concurrency)
            grpc_risk = drive("ListRiskEntries", grpc_call, args.calls, args.concurrency)
            dash_ms: list[float] = []
            dashboard_calls = max(args.calls // 10, 20)
            dashboard = drive(
                "dashboard",
                page_driver(base, token, "/regulator", dash_ms),
                dashboard_calls,
                args.concurrency,
            )
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    print(
        f"  {args.concurrency} client threads; console, scoring and the bare endpoint in their own processes"
    )
    bare_trip = f"p50 {statistics.median(bare.latencies_ms):7.1f} ms  p99 {bare.percentile(0.99):7.1f} ms"
    print(f"  {'bare ASGI endpoint':<22} round trip {bare_trip}   {bare.throughput:6.1f}/s")
    report("risk-list page", risk, risk_ms, bare)
    grpc_trip = (
        f"p50 {statistics.median(grpc_risk.latencies_ms):7.1f} ms  p99 {grpc_risk.percentile(0.99):7.1f} ms"
    )
    print(f"    of which scoring's ListRiskEntries alone (gRPC, same filter and page): {grpc_trip}")
    verdict = "met" if percentile(risk_ms, 0.99) < 300 else "NOT met"
    print(
        f"    target: risk-list page p99 < 300 ms (server time) at 1,000,000 grades: {verdict} at this size"
    )
    report("dashboard", dashboard, dash_ms, bare)


if __name__ == "__main__":
    main()
