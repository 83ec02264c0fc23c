"""The enterprises service over a real socket: real server, real database, the generated stub.

Kafka is a dead port on purpose: RPCs must succeed while the broker is down (the relay just retries).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from integrity.enterprises.v1 import enterprises_pb2, enterprises_pb2_grpc
from services.enterprises.adapters.tables import EnterpriseRow
from services.enterprises.adapters.unit_of_work import EnterprisesUnitOfWork
from services.enterprises.bootstrap import build_app
from services.enterprises.domain.enterprise import EnterpriseDraft, register, validate_registration
from shared.auth import issue_token
from shared.db import make_engine
from shared.outbox import OutboxRecord
from shared.settings import Settings
from shared.uscc import with_check_character
from tests.helpers import serving

pytestmark = pytest.mark.integration

DEAD_BROKER = "127.0.0.1:1"


def uscc(serial: int, region: str = "610112") -> str:
    return with_check_character(f"91{region}{serial:09d}")


def enterprise(serial: int = 1, region: str = "610112", **changes: object) -> enterprises_pb2.Enterprise:
    fields: dict[str, object] = {
        "uscc": uscc(serial, region),
        "display_name": "西安市某某加油站有限公司",
        "region_code": region,
        "industry_code": "5265",
        "subject_type": enterprises_pb2.SUBJECT_TYPE_TRADE_INSTRUMENT_USER,
        "registered_date": "2015-06-30",
    }
    fields.update(changes)
    return enterprises_pb2.Enterprise(**fields)  # type: ignore[arg-type]


@dataclass
class Registry:
    stub: enterprises_pb2_grpc.EnterpriseServiceStub
    settings: Settings
    engine: Engine

    def auth(self, role: str, **claims: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {issue_token(self.settings, role, **claims)}"),)

    @property
    def system(self) -> tuple[tuple[str, str], ...]:
        return self.auth("system")

    def create(self, message: enterprises_pb2.Enterprise, request_id: str = "") -> enterprises_pb2.Enterprise:
        request = enterprises_pb2.CreateEnterpriseRequest(enterprise=message, request_id=request_id)
        return self.stub.CreateEnterprise(request, metadata=self.system, timeout=10).enterprise

    def count(self, table: type) -> int:
        with Session(self.engine) as session:
            return int(session.exec(select(func.count()).select_from(table)).one())


@pytest.fixture
def registry(database_url: str, tmp_path: Path) -> Iterator[Registry]:
    settings = Settings(
        var_dir=tmp_path / "var",
        enterprises_database_url=database_url,
        kafka_bootstrap_servers=DEAD_BROKER,
        relay_poll_seconds=0.05,
        relay_max_backoff_seconds=0.5,
    )
    engine = make_engine(database_url)
    try:
        with serving(build_app(settings)) as channel:
            yield Registry(enterprises_pb2_grpc.EnterpriseServiceStub(channel), settings, engine)
    finally:
        engine.dispose()


def status_of(call: grpc.Call) -> tuple[grpc.StatusCode, list[error_details_pb2.BadRequest.FieldViolation]]:
    status = rpc_status.from_call(call)
    violations = []
    for detail in status.details if status else ():
        bad_request = error_details_pb2.BadRequest()
        if detail.Unpack(bad_request):
            violations += bad_request.field_violations
    return call.code(), violations


def test_a_wrong_check_character_is_invalid_argument_on_enterprise_uscc_and_writes_nothing(
    registry: Registry,
) -> None:
    valid = uscc(1)
    wrong = "0" if valid[-1] != "0" else "1"
    with pytest.raises(grpc.RpcError) as caught:
        registry.create(enterprise(uscc=valid[:-1] + wrong, region_code="61011"))
    code, violations = status_of(caught.value)  # type: ignore[arg-type]
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in violations} == {"enterprise.uscc", "enterprise.region_code"}
    assert "check character" in next(v.description for v in violations if v.field == "enterprise.uscc")
    assert registry.count(EnterpriseRow) == 0 and registry.count(OutboxRecord) == 0


def test_a_region_not_on_the_gbt2260_list_is_refused_with_its_neighbours_and_names_come_back(
    registry: Registry,
) -> None:
    with pytest.raises(grpc.RpcError) as caught:
        registry.create(enterprise(region_code="610199"))  # well formed, but Xi'an has no 610199
    code, violations = status_of(caught.value)  # type: ignore[arg-type]
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    [violation] = violations
    assert violation.field == "enterprise.region_code"
    assert "610199" in violation.description and "610112 未央区" in violation.description
    assert registry.count(EnterpriseRow) == 0 and registry.count(OutboxRecord) == 0
    created = registry.create(enterprise(region_code="610113"))
    assert created.region_name == "陕西省西安市雁塔区"


def test_create_then_duplicate_then_idempotent_repeat(registry: Registry) -> None:
    request_id = str(uuid.uuid4())
    created = registry.create(enterprise(), request_id)
    assert created.name == f"enterprises/{uscc(1)}" and created.industry_code == "F5265"
    assert created.status == enterprises_pb2.ENTERPRISE_STATUS_ACTIVE and created.etag
    assert registry.count(OutboxRecord) == 1

    with pytest.raises(grpc.RpcError) as caught:
        registry.create(enterprise(display_name="另一家"))
    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS  # type: ignore[attr-defined]
    assert "request_id" in caught.value.details()  # type: ignore[attr-defined]

    repeated = registry.create(enterprise(), request_id)
    assert repeated == created
    assert registry.count(EnterpriseRow) == 1 and registry.count(OutboxRecord) == 1


def test_no_token_is_unauthenticated(registry: Registry) -> None:
    request = enterprises_pb2.GetEnterpriseRequest(name=f"enterprises/{uscc(1)}")
    with pytest.raises(grpc.RpcError) as caught:
        registry.stub.GetEnterprise(request, timeout=10)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED  # type: ignore[attr-defined]


def test_an_enterprise_reads_itself_but_not_another(registry: Registry) -> None:
    mine, theirs = registry.create(enterprise(1)), registry.create(enterprise(2))
    as_mine = registry.auth("enterprise", uscc=mine.uscc)
    got = registry.stub.GetEnterprise(enterprises_pb2.GetEnterpriseRequest(name=mine.name), metadata=as_mine)
    assert got.enterprise == mine
    for name in (theirs.name, f"enterprises/{uscc(3)}"):  # registered or not: the same answer
        with pytest.raises(grpc.RpcError) as caught:
            registry.stub.GetEnterprise(enterprises_pb2.GetEnterpriseRequest(name=name), metadata=as_mine)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]


def test_get_of_a_missing_enterprise_is_not_found_and_a_bad_name_invalid(registry: Registry) -> None:
    for name, expected in (
        (f"enterprises/{uscc(9)}", grpc.StatusCode.NOT_FOUND),
        ("x", grpc.StatusCode.INVALID_ARGUMENT),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            registry.stub.GetEnterprise(
                enterprises_pb2.GetEnterpriseRequest(name=name), metadata=registry.system
            )
        assert caught.value.code() == expected  # type: ignore[attr-defined]


def test_listing_walks_every_page_once_and_regulators_see_their_region(registry: Registry) -> None:
    regions = ["610112", "610113", "610202", "440106"]
    created = [registry.create(enterprise(n, regions[n % len(regions)])) for n in range(1, 16)]

    def walk(metadata: tuple[tuple[str, str], ...], filter_text: str = "") -> list[str]:
        seen, token = [], ""
        while True:
            request = enterprises_pb2.ListEnterprisesRequest(
                page_size=4, page_token=token, filter=filter_text
            )
            response = registry.stub.ListEnterprises(request, metadata=metadata, timeout=10)
            seen += [e.uscc for e in response.enterprises]
            token = response.next_page_token
            if not token:
                return seen

    assert walk(registry.system) == sorted(e.uscc for e in created)
    in_xian = sorted(e.uscc for e in created if e.region_code.startswith("6101"))
    assert walk(registry.system, 'region_code = "610100" AND status = ENTERPRISE_STATUS_ACTIVE') == in_xian
    assert walk(registry.auth("regulator", region="610100")) == in_xian

    with pytest.raises(grpc.RpcError) as caught:
        walk(registry.auth("regulator", region="610100"), "region_code = 610200")
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]

    for request, field in (
        (enterprises_pb2.ListEnterprisesRequest(filter="colour = red"), "filter"),
        (enterprises_pb2.ListEnterprisesRequest(page_size=-1), "page_size"),
        (enterprises_pb2.ListEnterprisesRequest(page_token="bogus"), "page_token"),
    ):
        with pytest.raises(grpc.RpcError) as caught:
            registry.stub.ListEnterprises(request, metadata=registry.system, timeout=10)
        code, violations = status_of(caught.value)  # type: ignore[arg-type]
        assert code == grpc.StatusCode.INVALID_ARGUMENT and [v.field for v in violations] == [field]


# --- UpdateEnterprise -------------------------------------------------------------------------------


def _update(
    registry: Registry,
    message: enterprises_pb2.Enterprise,
    paths: list[str],
    role: str = "system",
    **claims: str,
) -> enterprises_pb2.Enterprise:
    request = enterprises_pb2.UpdateEnterpriseRequest(
        enterprise=message, update_mask=field_mask_pb2.FieldMask(paths=paths)
    )
    return registry.stub.UpdateEnterprise(
        request, metadata=registry.auth(role, **claims), timeout=10
    ).enterprise


def test_update_with_the_current_etag_applies_and_a_stale_one_is_aborted(registry: Registry) -> None:
    created = registry.create(enterprise())
    change = enterprises_pb2.Enterprise(
        name=created.name,
        etag=created.etag,
        display_name="新名字有限公司",
        status=enterprises_pb2.ENTERPRISE_STATUS_SUSPENDED,
    )
    updated = _update(registry, change, ["display_name", "status"])
    assert updated.display_name == "新名字有限公司" and updated.etag != created.etag
    assert updated.status == enterprises_pb2.ENTERPRISE_STATUS_SUSPENDED
    assert registry.count(OutboxRecord) == 3  # registered, updated, status changed
    with Session(registry.engine) as session:
        types = session.exec(select(OutboxRecord.event_type).order_by(OutboxRecord.id)).all()
    assert types[1:] == [
        "integrity.events.v1.EnterpriseUpdated",
        "integrity.events.v1.EnterpriseStatusChanged",
    ]

    stale = enterprises_pb2.Enterprise(name=created.name, etag=created.etag, display_name="迟到的修改")
    with pytest.raises(grpc.RpcError) as caught:
        _update(registry, stale, ["display_name"])
    assert caught.value.code() == grpc.StatusCode.ABORTED  # type: ignore[attr-defined]
    got = registry.stub.GetEnterprise(
        enterprises_pb2.GetEnterpriseRequest(name=created.name), metadata=registry.system, timeout=10
    ).enterprise
    assert got == updated and registry.count(OutboxRecord) == 3


def test_only_the_system_role_updates_and_bad_masks_are_invalid(registry: Registry) -> None:
    created = registry.create(enterprise())
    change = enterprises_pb2.Enterprise(name=created.name, display_name="x")
    for role, claims in (("regulator", {"region": "610100"}), ("enterprise", {"uscc": created.uscc})):
        with pytest.raises(grpc.RpcError) as caught:
            _update(registry, change, ["display_name"], role, **claims)
        assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED  # type: ignore[attr-defined]
    with pytest.raises(grpc.RpcError) as caught:
        _update(registry, change, ["uscc"])
    code, violations = status_of(caught.value)  # type: ignore[arg-type]
    assert code == grpc.StatusCode.INVALID_ARGUMENT and [v.field for v in violations] == ["update_mask"]
    assert registry.count(OutboxRecord) == 1


def test_pages_over_a_thousand_enterprises_each_once_capped_and_bound_to_their_filter(
    registry: Registry,
) -> None:
    regions = ["610112", "610113", "610202", "440106", "610302"]
    now = datetime.now(UTC)
    with EnterprisesUnitOfWork(registry.engine) as uow:  # seeded directly: 1005 creates over gRPC are slow
        for n in range(1, 1006):
            region = regions[n % len(regions)]
            draft = EnterpriseDraft(uscc(n, region), f"企业{n}", region, "5265", 1 + n % 7)
            uow.enterprises.add(register(validate_registration(draft), now))
        uow.commit()

    def page(size: int, token: str = "", filter_text: str = "") -> enterprises_pb2.ListEnterprisesResponse:
        request = enterprises_pb2.ListEnterprisesRequest(page_size=size, page_token=token, filter=filter_text)
        return registry.stub.ListEnterprises(request, metadata=registry.system, timeout=30)

    capped = page(5000)
    assert len(capped.enterprises) == 1000 and capped.next_page_token

    for filter_text, size in (
        ("", 333),
        ('region_code = "610100"', 7),
        ("subject_type = SUBJECT_TYPE_OTHER", 50),
    ):
        seen, token = [], ""
        while True:
            response = page(size, token, filter_text)
            assert len(response.enterprises) <= size
            seen += [e.uscc for e in response.enterprises]
            token = response.next_page_token
            if not token:
                break
        expected = page(1000, "", filter_text).enterprises  # at most 1000 match these two filters
        if filter_text:
            assert sorted(seen) == sorted(e.uscc for e in expected)
        assert len(seen) == len(set(seen)) == (1005 if not filter_text else len(expected))

    with pytest.raises(grpc.RpcError) as caught:
        page(10, page(10).next_page_token, 'region_code = "610100"')
    code, violations = status_of(caught.value)  # type: ignore[arg-type]
    assert code == grpc.StatusCode.INVALID_ARGUMENT and [v.field for v in violations] == ["page_token"]
