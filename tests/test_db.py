"""The request owns its session: writes in one committed transaction, reads without one."""

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from starlette.types import Message, Receive, Scope, Send

from phresh.config import Settings
from phresh.kit.repository import ConstraintViolation, fetch_all, fetch_value, flush
from phresh.models import Cleaning, User
from tests.fixtures.client import BASE_URL
from tests.fixtures.factories import auth_headers, create_cleaning, create_offer, create_user


def driver_autocommit_per_statement(app: FastAPI) -> list[bool]:
    """For each statement the app sends, whether the driver ran it outside BEGIN/COMMIT."""
    seen: list[bool] = []

    def before_execute(connection: Any, *args: Any) -> None:
        seen.append(bool(connection.connection.dbapi_connection.autocommit))

    event.listen(app.state.database.engine.sync_engine, "before_cursor_execute", before_execute)
    return seen


async def test_a_write_runs_in_one_committed_transaction(
    live_app: FastAPI, live_client: httpx.AsyncClient, live_engine: AsyncEngine, settings: Settings
) -> None:
    async with AsyncSession(live_engine, expire_on_commit=False) as session, session.begin():
        owner = await create_user(session)
        cleaning = await create_cleaning(session, owner=owner, name="Attic")
    autocommit = driver_autocommit_per_statement(live_app)

    response = await live_client.patch(
        f"/cleanings/{cleaning.id}", json={"name": "Loft"}, headers=auth_headers(settings, owner)
    )

    assert response.status_code == 200
    assert autocommit
    assert not any(autocommit)
    async with AsyncSession(live_engine) as session:
        stored = await session.scalar(select(Cleaning.name).where(Cleaning.id == cleaning.id))
    assert stored == "Loft"


async def test_a_failed_write_leaves_nothing_behind(
    live_app: FastAPI, live_client: httpx.AsyncClient, live_engine: AsyncEngine, settings: Settings
) -> None:
    async with AsyncSession(live_engine, expire_on_commit=False) as session, session.begin():
        owner = await create_user(session, username="taken")
    payload = {"username": "taken", "email": "new@example.com", "password": "long enough pw"}

    response = await live_client.post("/users", json=payload)

    assert response.status_code == 409
    async with AsyncSession(live_engine) as session:
        users = await session.scalar(select(func.count()).select_from(type(owner)))
    assert users == 1


async def test_a_read_runs_without_a_transaction(
    live_app: FastAPI, live_client: httpx.AsyncClient, live_engine: AsyncEngine, settings: Settings
) -> None:
    async with AsyncSession(live_engine, expire_on_commit=False) as session, session.begin():
        user = await create_user(session)
    autocommit = driver_autocommit_per_statement(live_app)

    response = await live_client.get("/users/me", headers=auth_headers(settings, user))

    assert response.status_code == 200
    assert autocommit
    assert all(autocommit)


async def statement_times(session: AsyncSession) -> tuple[Any, Any]:
    """now() at two statements 10 ms apart: equal inside one transaction, not in autocommit."""
    first = await fetch_value(session, "SELECT now()", {})
    second = await fetch_value(session, "SELECT now() FROM pg_sleep(0.01)", {})
    return first, second


async def test_plain_sql_in_a_write_session_runs_inside_its_transaction(
    live_app: FastAPI,
) -> None:
    async with live_app.state.database.sessionmaker() as session:
        first, second = await statement_times(session)
        await session.rollback()

    assert first == second


async def test_plain_sql_in_a_read_session_runs_without_one(live_app: FastAPI) -> None:
    async with live_app.state.database.read_sessionmaker() as session:
        first, second = await statement_times(session)

    assert first < second


async def test_a_plain_sql_insert_rolls_back_with_its_request(
    live_app: FastAPI, live_engine: AsyncEngine
) -> None:
    async with AsyncSession(live_engine, expire_on_commit=False) as setup, setup.begin():
        owner = await create_user(setup)

    async with live_app.state.database.sessionmaker() as session:
        await fetch_all(
            session,
            "INSERT INTO cleaning (owner_id, name, price) VALUES (:owner, 'Gone', 10) RETURNING id",
            {"owner": owner.id},
        )
        await session.rollback()

    async with AsyncSession(live_engine) as check:
        count = await check.scalar(select(func.count()).select_from(Cleaning))
    assert count == 0


async def test_the_commit_happens_before_the_response_starts(
    live_app: FastAPI, live_engine: AsyncEngine, settings: Settings
) -> None:
    # httpx's ASGITransport returns only after the app finishes, so the response arriving
    # proves nothing: record what the app does, in order, at the ASGI and engine level.
    async with AsyncSession(live_engine, expire_on_commit=False) as session, session.begin():
        owner = await create_user(session)
        cleaning = await create_cleaning(session, owner=owner, name="Attic")
    events: list[str] = []
    event.listen(
        live_app.state.database.engine.sync_engine, "commit", lambda _: events.append("commit")
    )

    async def recording_app(scope: Scope, receive: Receive, send: Send) -> None:
        async def recording_send(message: Message) -> None:
            events.append(message["type"])
            await send(message)

        await live_app(scope, receive, recording_send)

    transport = httpx.ASGITransport(app=recording_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
        response = await client.patch(
            f"/cleanings/{cleaning.id}",
            json={"name": "Loft"},
            headers=auth_headers(settings, owner),
        )

    assert response.status_code == 200
    assert events.count("commit") == 1
    assert events.index("commit") < events.index("http.response.start")


async def test_reads_take_no_row_locks(
    live_app: FastAPI, live_client: httpx.AsyncClient, live_engine: AsyncEngine, settings: Settings
) -> None:
    # In autocommit a lock would end with its statement: it could only make the read wait.
    async with AsyncSession(live_engine, expire_on_commit=False) as session, session.begin():
        owner = await create_user(session, username="owner")
        cleaner = await create_user(session, username="cleaner")
        cleaning = await create_cleaning(session, owner=owner, name="Attic")
        await create_offer(session, cleaning=cleaning, cleaner=cleaner)
    statements: list[str] = []
    event.listen(
        live_app.state.database.engine.sync_engine,
        "before_cursor_execute",
        lambda _conn, _cursor, statement, *_: statements.append(statement),
    )
    headers = auth_headers(settings, owner)
    paths = [
        "/users/me",
        "/cleanings",
        "/users/me/cleanings",
        f"/cleanings/{cleaning.id}",
        f"/cleanings/{cleaning.id}/offers",
        f"/cleanings/{cleaning.id}/offers/cleaner",
        "/feed/cleanings",
        "/users/cleaner/evaluations",
        "/users/cleaner/evaluations/stats",
    ]

    statuses = [(await live_client.get(path, headers=headers)).status_code for path in paths]

    assert statuses == [200] * len(paths)
    assert statements
    locking = [s for s in statements if " FOR UPDATE" in s.upper() or " FOR SHARE" in s.upper()]
    assert locking == []


async def test_a_broken_constraint_on_flush_names_the_constraint(session: AsyncSession) -> None:
    owner = await create_user(session, username="taken")
    twin = User(username="taken", email="twin@example.com", password_hash=owner.password_hash)

    with pytest.raises(ConstraintViolation) as violation:
        await flush(session, twin)

    assert violation.value.constraint == "uq_user_username"
