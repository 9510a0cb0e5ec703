from datetime import UTC, datetime, timedelta

import httpx
import pytest

from phresh.config import Settings
from phresh.db import Connection
from phresh.models import User
from tests.fixtures.factories import auth_headers, create_cleaning, create_user

START = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
async def owner(connection: Connection) -> User:
    return await create_user(connection, username="owner")


async def test_feed_lists_created_events_newest_first(
    client: httpx.AsyncClient, connection: Connection, settings: Settings, owner: User
) -> None:
    older = await create_cleaning(connection, owner=owner, created_at=START)
    newer = await create_cleaning(connection, owner=owner, created_at=START + timedelta(hours=1))

    response = await client.get("/feed/cleanings", headers=auth_headers(settings, owner))

    assert response.status_code == 200
    items = response.json()["items"]
    assert [(i["event"], i["cleaning"]["id"]) for i in items] == [
        ("created", newer.id),
        ("created", older.id),
    ]


async def test_an_edit_adds_an_updated_event_on_top(
    client: httpx.AsyncClient, connection: Connection, settings: Settings, owner: User
) -> None:
    cleaning = await create_cleaning(connection, owner=owner, created_at=START)
    headers = auth_headers(settings, owner)
    patched = await client.patch(f"/cleanings/{cleaning.id}", json={"name": "New"}, headers=headers)
    assert patched.status_code == 200

    response = await client.get("/feed/cleanings", headers=headers)

    items = response.json()["items"]
    assert [i["event"] for i in items] == ["updated", "created"]
    assert items[0]["cleaning"]["name"] == "New"


async def test_deleted_cleanings_leave_the_feed(
    client: httpx.AsyncClient, connection: Connection, settings: Settings, owner: User
) -> None:
    cleaning = await create_cleaning(connection, owner=owner, created_at=START)
    headers = auth_headers(settings, owner)
    await client.delete(f"/cleanings/{cleaning.id}", headers=headers)

    response = await client.get("/feed/cleanings", headers=headers)

    assert response.json()["items"] == []


async def test_feed_pages_by_cursor_without_repeats(
    client: httpx.AsyncClient, connection: Connection, settings: Settings, owner: User
) -> None:
    for n in range(7):
        await create_cleaning(connection, owner=owner, created_at=START + timedelta(minutes=n))
    headers = auth_headers(settings, owner)
    seen: list[int] = []
    cursor = None

    for _ in range(10):
        params = {"limit": "3"} if cursor is None else {"limit": "3", "cursor": cursor}
        page = (await client.get("/feed/cleanings", params=params, headers=headers)).json()
        seen.extend(i["cleaning"]["id"] for i in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert len(seen) == len(set(seen)) == 7


async def test_feed_rejects_a_forged_cursor(
    client: httpx.AsyncClient, settings: Settings, owner: User
) -> None:
    response = await client.get(
        "/feed/cleanings",
        params={"cursor": "bm90LWEtY3Vyc29y"},
        headers=auth_headers(settings, owner),
    )

    assert response.status_code == 400


async def test_feed_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/feed/cleanings")

    assert response.status_code == 401
