"""Matching complaints to registered enterprises (use_cases/matching.py), on the in-memory unit of work."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from integrity.complaints.v1 import complaints_pb2 as P
from services.complaints.domain.deadlines import Rules
from services.complaints.domain.intake import ComplaintDraft
from services.complaints.use_cases.filing import create_complaint
from services.complaints.use_cases.matching import record_registration
from services.complaints.use_cases.reading import get_complaint
from shared.auth import Principal, Role
from shared.errors import ErrorKind, IntegrityError
from tests.helpers import valid_uscc
from tests.unit.complaints.fakes import FakeUnitOfWork

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
PLATFORM = Principal("12315", Role.SYSTEM)
XIAN = Principal("xian", Role.REGULATOR, region="610100")
FUZHOU = Principal("fuzhou", Role.REGULATOR, region="350100")
USCC = valid_uscc(1, "350100")


def draft() -> ComplaintDraft:
    return ComplaintDraft(f"enterprises/{USCC}", P.COMPLAINT_CATEGORY_SHORT_WEIGHT_OR_MEASURE, 1, "少秤")


def test_a_registered_enterprise_is_matched_at_intake_and_its_regulators_handle_it() -> None:
    uow = FakeUnitOfWork(committed_registry={USCC: "610112"})
    filed = create_complaint(uow, draft(), None, "", PLATFORM, Rules(), now=NOW).complaint
    assert (filed.match_status, filed.region_code) == (P.ENTERPRISE_MATCH_STATUS_MATCHED, "610112")
    [(_, event)] = uow.published
    assert event.complaint_filed.matched and event.complaint_filed.region_code == "610112"
    assert get_complaint(uow, filed.name, XIAN).complaint == filed
    try:
        get_complaint(uow, filed.name, FUZHOU)
    except IntegrityError as refused:
        assert refused.kind == ErrorKind.PERMISSION_DENIED and "610112" in refused.message
    else:
        raise AssertionError("the regulator of the issuing division read a complaint outside its region")


def test_a_waiting_complaint_is_matched_once_even_when_a_regulator_changed_it_meanwhile() -> None:
    uow = FakeUnitOfWork()
    filed = create_complaint(uow, draft(), None, "", PLATFORM, Rules(), now=NOW).complaint
    assert (filed.match_status, filed.region_code) == (P.ENTERPRISE_MATCH_STATUS_UNMATCHED, "350100")

    registered_at = NOW + timedelta(days=3)
    with uow:
        # Between the matcher's read and its write, the Fuzhou regulator accepts the complaint.
        saves = uow.complaints.save

        def regulator_first(complaint, expected):  # type: ignore[no-untyped-def]
            uow.complaints.save = saves  # type: ignore[method-assign]
            stored = uow.complaints.get(complaint.id)
            uow.complaints.rows[complaint.id] = replace(stored, etag="changed")
            return saves(complaint, expected)

        uow.complaints.save = regulator_first  # type: ignore[method-assign]
        [matched] = record_registration(uow, USCC, "610112", registered_at, now=registered_at)
        uow.commit()
    assert (matched.match_status, matched.region_code) == (P.ENTERPRISE_MATCH_STATUS_MATCHED, "610112")
    [(topic, event)] = uow.published[1:]
    assert topic == "integrity.complaints.v1" and event.subject == USCC
    assert event.complaint_matched.complaint == filed.name and event.complaint_matched.region_code == "610112"
    assert event.occurred_at.ToDatetime(tzinfo=UTC) == registered_at

    with uow:
        assert record_registration(uow, USCC, "610112", registered_at) == []  # a replay changes nothing
        uow.commit()
    assert len(uow.published) == 2
