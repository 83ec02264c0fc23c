"""Request ids: the caller's when usable, else new ones unique within and across (forked) processes."""

from __future__ import annotations

import multiprocessing
import re

from shared.call_metadata import new_request_id, request_id_of


def _child_ids(queue: multiprocessing.Queue) -> None:
    queue.put([new_request_id() for _ in range(3)])


def test_new_request_ids_are_unique_here_and_in_a_forked_process() -> None:
    mine = [new_request_id() for _ in range(1000)]
    assert len(set(mine)) == 1000 and all(re.fullmatch("[0-9a-f]{32}", i) for i in mine)
    queue: multiprocessing.Queue = multiprocessing.get_context("fork").Queue()
    child = multiprocessing.get_context("fork").Process(target=_child_ids, args=(queue,))
    child.start()
    theirs = queue.get(timeout=30)
    child.join(30)
    assert not set(theirs) & set(mine)
    assert {i[:16] for i in theirs} != {i[:16] for i in mine}  # the child drew its own prefix


def test_the_callers_request_id_is_kept_unless_unusable() -> None:
    assert request_id_of({"x-request-id": "req-42"}) == "req-42"
    for unusable in ("", "x" * 129, "line\nbreak"):
        replaced = request_id_of({"x-request-id": unusable})
        assert replaced != unusable and re.fullmatch("[0-9a-f]{32}", replaced)
