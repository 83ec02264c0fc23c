"""Resource names of the ScoringService API (AIP-122): building them, and reading the USCC (and id) in a
name a request carries (INVALID_ARGUMENT on the request's field when it does not fit)."""

from __future__ import annotations

import re

from shared.errors import FieldViolation, invalid_argument
from shared.uscc import uscc_problem

_GRADE_NAME = re.compile(r"^enterprises/(?P<uscc>[^/]+)/grade$")
_ENTERPRISE_NAME = re.compile(r"^enterprises/(?P<uscc>[^/]+)$")
_APPEAL_NAME = re.compile(r"^enterprises/(?P<uscc>[^/]+)/appeals/(?P<id>[^/]+)$")
_APPLICATION_NAME = re.compile(r"^enterprises/(?P<uscc>[^/]+)/creditRepairApplications/(?P<id>[^/]+)$")
_LISTING_NAME = re.compile(r"^enterprises/(?P<uscc>[^/]+)/dishonestyListings/(?P<id>[^/]+)$")
_REPAIR_NAME = re.compile(r"^enterprises/(?P<uscc>[^/]+)/creditRepairs/(?P<id>[^/]+)$")
# The parent of a List over every enterprise the caller may see (AIP-159).
ANY_ENTERPRISE = "enterprises/-"


def enterprise_name(uscc: str) -> str:
    return f"enterprises/{uscc}"


def grade_name(uscc: str) -> str:
    return f"enterprises/{uscc}/grade"


def appeal_name(uscc: str, appeal_id: str) -> str:
    return f"enterprises/{uscc}/appeals/{appeal_id}"


def credit_repair_name(uscc: str, repair_id: str) -> str:
    return f"enterprises/{uscc}/creditRepairs/{repair_id}"


def credit_repair_application_name(uscc: str, application_id: str) -> str:
    return f"enterprises/{uscc}/creditRepairApplications/{application_id}"


def dishonesty_listing_name(uscc: str, listing_id: str) -> str:
    return f"enterprises/{uscc}/dishonestyListings/{listing_id}"


def uscc_of_grade_name(name: str) -> str:
    """The USCC in `enterprises/{uscc}/grade`; INVALID_ARGUMENT on `name` otherwise."""
    return _uscc_of(_GRADE_NAME, name, "name", "enterprises/{uscc}/grade")


def uscc_of_parent(parent: str) -> str:
    """The USCC in a create's `parent`, `enterprises/{uscc}`; INVALID_ARGUMENT on `parent` otherwise."""
    return _uscc_of(_ENTERPRISE_NAME, parent, "parent", "enterprises/{uscc}")


def list_parent_of(parent: str) -> str | None:
    """The USCC of a List's `parent`, `enterprises/{uscc}`; None for `enterprises/-` (every enterprise the
    caller may see); INVALID_ARGUMENT on `parent` otherwise."""
    if parent == ANY_ENTERPRISE:
        return None
    return _uscc_of(_ENTERPRISE_NAME, parent, "parent", "enterprises/{uscc} or enterprises/-")


def appeal_of(name: str, field: str = "name") -> tuple[str, str]:
    """The USCC and appeal id in `enterprises/{uscc}/appeals/{id}`; INVALID_ARGUMENT on `field` otherwise."""
    return _uscc_and_id(_APPEAL_NAME, name, field, "enterprises/{uscc}/appeals/{id}")


def application_of(name: str, field: str = "name") -> tuple[str, str]:
    """The USCC and id in `enterprises/{uscc}/creditRepairApplications/{id}`."""
    return _uscc_and_id(_APPLICATION_NAME, name, field, "enterprises/{uscc}/creditRepairApplications/{id}")


def listing_of(name: str, field: str = "name") -> tuple[str, str]:
    """The USCC and id in `enterprises/{uscc}/dishonestyListings/{id}`."""
    return _uscc_and_id(_LISTING_NAME, name, field, "enterprises/{uscc}/dishonestyListings/{id}")


def credit_repair_of(name: str, field: str = "name") -> tuple[str, str]:
    """The USCC and id in `enterprises/{uscc}/creditRepairs/{id}`."""
    return _uscc_and_id(_REPAIR_NAME, name, field, "enterprises/{uscc}/creditRepairs/{id}")


def _uscc_and_id(pattern: re.Pattern[str], name: str, field: str, shape: str) -> tuple[str, str]:
    uscc = _uscc_of(pattern, name, field, shape)
    match = pattern.match(name)
    assert match is not None  # _uscc_of has matched it
    return uscc, match["id"]


def _uscc_of(pattern: re.Pattern[str], name: str, field: str, shape: str) -> str:
    match = pattern.match(name)
    if match is None:
        raise invalid_argument([FieldViolation(field, f"must look like {shape}, got {name!r}")])
    uscc = match["uscc"]
    problem = uscc_problem(uscc)
    if problem:
        raise invalid_argument([FieldViolation(field, f"USCC {uscc!r} {problem}")])
    return uscc
