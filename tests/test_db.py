"""The request owns its session: writes in one committed transaction, reads without one."""

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from phresh.config import Settings
from phresh.kit.repository import driver_connection
from phresh.models import Cleaning
from tests.fixtures.factories import auth_headers, create_cleaning, create_user


def driver_autocommit_per_statement(app: FastAPI) -> list[bool]:
    """For each statement the app sends, whether the driver ran it outside BEGIN/COMMIT."""
    seen: list[bool] = []

    def before_execute(connection: Any, *args: Any) -> None:
        seen.append(bool(connection.connection.dbapi_connection.autocommit))

    event.listen(app.state.database.engine.sync_engine, "before_cursor_execute", before_execute)
    return seen


async def test_a_write_commits_before_the_response(
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


async def test_plain_sql_in_a_write_session_runs_inside_its_transaction(
    live_app: FastAPI,
) -> None:
    database = live_app.state.database

    async with database.sessionmaker() as session:
        connection = await driver_connection(session)
        in_transaction = connection.is_in_transaction()
        await session.rollback()

    assert in_transaction


async def test_plain_sql_in_a_read_session_runs_without_one(live_app: FastAPI) -> None:
    database = live_app.state.database

    async with database.read_sessionmaker() as session:
        connection = await driver_connection(session)
        in_transaction = connection.is_in_transaction()

    assert not in_transaction


async def test_a_plain_sql_insert_rolls_back_with_its_request(
    live_app: FastAPI, live_engine: AsyncEngine
) -> None:
    async with AsyncSession(live_engine, expire_on_commit=False) as setup, setup.begin():
        owner = await create_user(setup)

    async with live_app.state.database.sessionmaker() as session:
        connection = await driver_connection(session)
        await connection.execute(
            "INSERT INTO cleaning (owner_id, name, price) VALUES ($1, 'Gone', 10)", owner.id
        )
        await session.rollback()

    async with AsyncSession(live_engine) as check:
        count = await check.scalar(select(func.count()).select_from(Cleaning))
    assert count == 0
