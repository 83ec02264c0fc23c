"""Two creates racing for the same keys, settled by the database's unique constraints (SQLite and
PostgreSQL): the loser of a repeated request gets the original, the loser of a duplicate ALREADY_EXISTS,
and in every case exactly one row and one outbox event exist."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from services.enterprises.adapters.repository import to_row
from services.enterprises.adapters.tables import EnterpriseRow
from services.enterprises.adapters.unit_of_work import EnterprisesUnitOfWork
from services.enterprises.domain.enterprise import EnterpriseChange, register, validate_registration
from services.enterprises.use_cases import enterprises
from shared.db import create_tables, make_engine
from shared.errors import ErrorKind, IntegrityError
from shared.events import utcnow
from shared.outbox import OutboxRecord
from tests.unit.enterprises.fakes import make_draft

pytestmark = pytest.mark.integration
TODAY = date(2025, 3, 1)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    create_tables(engine, [EnterpriseRow, OutboxRecord])
    yield engine
    engine.dispose()


class RacedUnitOfWork(EnterprisesUnitOfWork):
    """Lets a competing transaction commit `rival` after our checks and before our first commit."""

    def __init__(self, engine: Engine, rival: EnterpriseRow) -> None:
        super().__init__(engine)
        self.rival: EnterpriseRow | None = rival

    def commit(self) -> None:
        if self.rival is not None:
            rival, self.rival = self.rival, None
            with Session(self.engine) as other:
                other.add(rival)
                other.commit()
        super().commit()


def rival_row(request_id: str | None, **changes: object) -> EnterpriseRow:
    registration = validate_registration(make_draft(**changes), today=TODAY)
    return to_row(register(registration, utcnow(), request_id))


def counts(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session:
        rows = session.exec(select(func.count()).select_from(EnterpriseRow)).one()
        events = session.exec(select(func.count()).select_from(OutboxRecord)).one()
    return int(rows), int(events)


def test_the_loser_of_a_repeated_request_gets_the_original(engine: Engine) -> None:
    request_id = str(uuid.uuid4())
    uow = RacedUnitOfWork(engine, rival_row(request_id))
    result = enterprises.create_enterprise(uow, make_draft(), request_id, today=TODAY)
    assert not result.created and result.enterprise.request_id == request_id
    assert uow.committed_events == 0
    assert counts(engine) == (1, 0)  # the rival wrote its row directly, without an event


def test_the_loser_of_a_duplicate_registration_already_exists(engine: Engine) -> None:
    uow = RacedUnitOfWork(engine, rival_row(None, display_name="抢先注册"))
    with pytest.raises(IntegrityError) as caught:
        enterprises.create_enterprise(uow, make_draft(), str(uuid.uuid4()), today=TODAY)
    assert caught.value.kind == ErrorKind.ALREADY_EXISTS
    assert counts(engine) == (1, 0)


class OvertakenUnitOfWork(EnterprisesUnitOfWork):
    """Lets a competing transaction change the enterprise after our read, before our compare-and-set."""

    def __enter__(self) -> OvertakenUnitOfWork:
        super().__enter__()
        repository, write = self.enterprises, self.enterprises.replace

        def overtaken_replace(enterprise, expected_etag):  # type: ignore[no-untyped-def]
            with Session(self.engine) as other:
                row = other.get(EnterpriseRow, enterprise.uscc)
                assert row is not None
                row.display_name, row.etag = "抢先修改", "rival-etag"
                other.commit()
            return write(enterprise, expected_etag)

        repository.replace = overtaken_replace  # type: ignore[method-assign]
        return self


def test_an_update_overtaken_after_its_etag_check_is_aborted_and_writes_nothing(engine: Engine) -> None:
    created = enterprises.create_enterprise(
        EnterprisesUnitOfWork(engine), make_draft(), today=TODAY
    ).enterprise
    change = EnterpriseChange(
        created.name, make_draft(display_name="我的修改"), 0, created.etag, ("display_name",)
    )
    with pytest.raises(IntegrityError) as caught:
        enterprises.update_enterprise(OvertakenUnitOfWork(engine), change, today=TODAY)
    assert caught.value.kind == ErrorKind.ABORTED
    with Session(engine) as session:
        row = session.get(EnterpriseRow, created.uscc)
        assert row is not None and row.display_name == "抢先修改"
    assert counts(engine) == (1, 1)  # the registration's event only
