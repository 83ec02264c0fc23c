"""UpdateEnterprise: field masks, AIP-154 etags, validation of the merged state, and its events."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from integrity.enterprises.v1 import enterprises_pb2
from integrity.events.v1 import events_pb2
from services.enterprises.domain.enterprise import (
    UPDATABLE_FIELDS,
    Enterprise,
    EnterpriseChange,
    EnterpriseDraft,
)
from services.enterprises.use_cases import enterprises
from shared.auth import Principal, Role
from shared.errors import ErrorKind, IntegrityError
from shared.events import payload_of
from tests.unit.enterprises.fakes import FakeUnitOfWork, make_draft, make_uscc

TODAY = date(2025, 3, 1)
LATER = datetime(2025, 3, 2, 8, 0, tzinfo=UTC)
SYSTEM = Principal("registry", Role.SYSTEM)
NAME = f"enterprises/{make_uscc(1)}"
SUSPENDED = enterprises_pb2.ENTERPRISE_STATUS_SUSPENDED


def registered() -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    enterprises.create_enterprise(uow, make_draft(), "", SYSTEM, today=TODAY)
    uow.published.clear()
    return uow


def change(mask: tuple[str, ...] = (), etag: str = "", status: int = 0, **fields: object) -> EnterpriseChange:
    draft = EnterpriseDraft(
        **{
            "uscc": "",
            "display_name": "",
            "region_code": "",
            "industry_code": "",
            "subject_type": 0,
            **fields,
        }  # type: ignore[arg-type]
    )
    return EnterpriseChange(NAME, draft, status, etag, mask)


def update(uow: FakeUnitOfWork, the_change: EnterpriseChange) -> enterprises.Updated:
    return enterprises.update_enterprise(uow, the_change, SYSTEM, now=LATER, today=TODAY)


def error_of(uow: FakeUnitOfWork, the_change: EnterpriseChange) -> IntegrityError:
    before = dict(uow.committed)
    with pytest.raises(IntegrityError) as caught:
        update(uow, the_change)
    assert uow.committed == before and uow.published == []  # nothing written
    return caught.value


def test_a_masked_field_changes_with_a_new_etag_and_one_updated_event() -> None:
    uow = registered()
    before = uow.committed[make_uscc(1)]
    result = update(
        uow, change(("display_name",), before.etag, display_name="  新名字有限公司 ", region_code="x")
    )
    after = uow.committed[make_uscc(1)]
    assert result.changed == ["display_name"] and after == result.enterprise
    assert after.display_name == "新名字有限公司" and after.region_code == before.region_code  # unmasked kept
    assert (
        after.etag != before.etag and after.update_time == LATER and after.create_time == before.create_time
    )
    [(_, event)] = uow.published
    payload = payload_of(event)
    assert isinstance(payload, events_pb2.EnterpriseUpdated) and event.subject == make_uscc(1)
    assert list(payload.changed_fields) == ["display_name"] and payload.enterprise.etag == after.etag


def test_a_status_change_emits_status_changed_with_the_previous_status() -> None:
    uow = registered()
    update(
        uow, change(("status", "size_class"), status=SUSPENDED, size_class=enterprises_pb2.SIZE_CLASS_LARGE)
    )
    kinds = {type(payload_of(e)).__name__: payload_of(e) for _, e in uow.published}
    assert set(kinds) == {"EnterpriseUpdated", "EnterpriseStatusChanged"}
    status_changed = kinds["EnterpriseStatusChanged"]
    assert status_changed.previous_status == enterprises_pb2.ENTERPRISE_STATUS_ACTIVE  # type: ignore[attr-defined]
    assert status_changed.enterprise.status == SUSPENDED  # type: ignore[attr-defined]
    assert list(kinds["EnterpriseUpdated"].changed_fields) == ["size_class"]  # type: ignore[attr-defined]


def test_a_stale_etag_is_aborted_and_writes_nothing() -> None:
    uow = registered()
    old_etag = uow.committed[make_uscc(1)].etag
    update(uow, change(("display_name",), old_etag, display_name="第一次修改"))
    uow.published.clear()
    err = error_of(uow, change(("display_name",), old_etag, display_name="第二次修改"))
    assert err.kind == ErrorKind.ABORTED and err.reason == "ETAG_MISMATCH"
    assert uow.committed[make_uscc(1)].display_name == "第一次修改"


class LosingRace(FakeUnitOfWork):
    """Another writer's update lands between our read and our write."""

    def __enter__(self) -> LosingRace:
        super().__enter__()
        repository, write = self.enterprises, self.enterprises.replace

        def overtaken_replace(enterprise: Enterprise, expected_etag: str) -> bool:
            stored = repository.rows[enterprise.uscc]
            repository.rows[enterprise.uscc] = dataclasses.replace(stored, etag="written-by-someone-else")
            return write(enterprise, expected_etag)

        repository.replace = overtaken_replace  # type: ignore[method-assign]
        return self


def test_a_concurrent_update_between_read_and_write_is_aborted() -> None:
    committed = registered().committed
    racing = LosingRace(committed=dict(committed))
    etag = committed[make_uscc(1)].etag
    with pytest.raises(IntegrityError) as caught:
        update(racing, change(("display_name",), etag, display_name="晚到的修改"))
    assert caught.value.kind == ErrorKind.ABORTED
    assert racing.committed == committed and racing.published == []


def test_an_unchanged_update_writes_no_event_and_keeps_the_etag() -> None:
    uow = registered()
    before = uow.committed[make_uscc(1)]
    result = update(
        uow, change(("display_name", "industry_code"), display_name=before.display_name, industry_code="5265")
    )
    assert result.changed == [] and result.enterprise == before and uow.published == []


def test_an_empty_mask_means_the_populated_fields() -> None:
    uow = registered()
    result = update(uow, change(region_code="610113"))
    assert result.changed == ["region_code"]
    uow.published.clear()
    assert error_of(uow, change()).field_violations[0].field == "update_mask"


@pytest.mark.parametrize(
    ("the_change", "fields"),
    [
        (change(("uscc",)), {"update_mask"}),
        (change(("create_time", "nonsense")), {"update_mask"}),
        (change(("*", "status")), {"update_mask"}),
        (
            change(("region_code", "status"), region_code="999999", status=42),
            {"enterprise.region_code", "enterprise.status"},
        ),
        (change(("status",)), {"enterprise.status"}),
        (change(("display_name",)), {"enterprise.display_name"}),
        (change(("registered_date",), registered_date="2031-01-01"), {"enterprise.registered_date"}),
        (
            change(("*",)),
            {
                "enterprise.display_name",
                "enterprise.region_code",
                "enterprise.industry_code",
                "enterprise.subject_type",
                "enterprise.status",
            },
        ),
        (EnterpriseChange("enterprises/bad", make_draft(), 0, "", ("display_name",)), {"enterprise.name"}),
    ],
)
def test_invalid_updates_name_every_bad_field_and_write_nothing(
    the_change: EnterpriseChange, fields: set[str]
) -> None:
    err = error_of(registered(), the_change)
    assert err.kind == ErrorKind.INVALID_ARGUMENT
    assert {v.field for v in err.field_violations} == fields


def test_updating_a_missing_enterprise_is_not_found() -> None:
    uow = FakeUnitOfWork()
    assert error_of(uow, change(("display_name",), display_name="x")).kind == ErrorKind.NOT_FOUND


@settings(max_examples=60, deadline=None)
@given(
    mask=st.lists(st.sampled_from([*UPDATABLE_FIELDS, "uscc", "etag", "*", ""]), max_size=4),
    text=st.text(max_size=30),
    number=st.integers(-5, 12),
    etag=st.sampled_from(["", "current", "stale"]),
)
def test_any_update_either_applies_whole_or_leaves_no_trace(
    mask: list[str], text: str, number: int, etag: str
) -> None:
    uow = registered()
    before = uow.committed[make_uscc(1)]
    sent_etag = {"": "", "current": before.etag, "stale": "0" * 20}[etag]
    the_change = change(
        tuple(mask),
        sent_etag,
        number,
        display_name=text,
        region_code=text,
        industry_code=text,
        subject_type=number,
        size_class=number,
        registered_date=text,
    )
    try:
        result = update(uow, the_change)
    except IntegrityError as err:
        assert err.kind in (ErrorKind.INVALID_ARGUMENT, ErrorKind.ABORTED)
        assert uow.committed[make_uscc(1)] == before and uow.published == []
        return
    assert uow.committed[make_uscc(1)] == result.enterprise
    assert bool(uow.published) == bool(result.changed)
