"""A periodic worker that flags rectifications past their deadline (each once: the state changes)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from services.inspections.use_cases.inspections import flag_overdue_rectifications
from services.inspections.use_cases.unit_of_work import InspectionsUoW

log = logging.getLogger("integrity.inspections.overdue")


class OverdueChecker:
    """Worker: every `interval_seconds`, flags overdue rectifications and wakes the relay."""

    def __init__(
        self,
        uow_factory: Callable[[], InspectionsUoW],
        interval_seconds: float,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self._uow_factory = uow_factory
        self._interval = interval_seconds
        self._wake = wake or (lambda: None)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def check_once(self) -> int:
        flagged = flag_overdue_rectifications(self._uow_factory())
        if flagged:
            log.info("flagged %d overdue rectifications", flagged)
            self._wake()
        return flagged

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="inspections-overdue", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.check_once()
            except Exception:
                log.exception("overdue check failed; will retry")
