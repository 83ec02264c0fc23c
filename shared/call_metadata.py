"""What a server reads from a call's metadata before anything else: its text entries, and the request id
(the caller's `x-request-id`, else a new one) that the access log, errors and the response carry."""

from __future__ import annotations

import itertools
import os
import uuid

import grpc

REQUEST_ID_KEY = "x-request-id"

_ids = itertools.count()
_id_prefix = (0, "")  # (pid, 16 random hex digits): a forked process draws its own


def string_metadata(context: grpc.ServicerContext) -> dict[str, str]:
    """The call's text metadata (binary values, and repeats of a key after the first, left out)."""
    found: dict[str, str] = {}
    for key, value in context.invocation_metadata() or ():
        if isinstance(value, str) and key not in found:
            found[key] = value
    return found


def request_id_of(metadata: dict[str, str]) -> str:
    """The caller's request id when it is short and printable, else a new one."""
    given = metadata.get(REQUEST_ID_KEY)
    return given if given and len(given) <= 128 and given.isprintable() else new_request_id()


def new_request_id() -> str:
    """32 hex digits unique across processes: a random prefix per process and a counter (a uuid4 per
    call cost a system call and an object for no better uniqueness)."""
    global _id_prefix
    pid, prefix = _id_prefix
    if pid != os.getpid():
        pid, prefix = _id_prefix = (os.getpid(), uuid.uuid4().hex[:16])
    return f"{prefix}{next(_ids) & 0xFFFF_FFFF_FFFF_FFFF:016x}"
