"""A worker that keeps the snapshot of every grade's counts fresh, for SummarizeGrades (the dashboards).

Counting a province's grades joins every grade with its enterprise: seconds at a million grades. Done here
once every `interval_seconds` (and at start), in the background, a dashboard sums the snapshot in memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from services.scoring.use_cases.summary import SummarySnapshots
from services.scoring.use_cases.unit_of_work import ScoringUoW
from shared.events import utcnow

log = logging.getLogger("integrity.scoring.summaries")


class SummaryRefresher:
    def __init__(
        self, uow_factory: Callable[[], ScoringUoW], snapshots: SummarySnapshots, interval_seconds: float
    ) -> None:
        self._uow_factory = uow_factory
        self._snapshots = snapshots
        self._interval = interval_seconds
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def refresh_once(self) -> None:
        started = time.monotonic()
        snapshot = self._snapshots.refresh(self._uow_factory(), utcnow())
        log.info(
            "grade counts snapshot: %d count rows, %d move rows in %.1f s",
            len(snapshot.counts),
            len(snapshot.moves),
            time.monotonic() - started,
        )

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="scoring-summaries", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.refresh_once()
            except Exception:
                log.exception("grade counts snapshot failed; will retry")
            if self._stopping.wait(self._interval):
                return
