"""GET /cleanings: filters, full-text search, sorts, keyset cursors, and the query count."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from asyncpg.connection import LoggedQuery

from phresh.config import Settings
from phresh.db import Connection
from phresh.models import CleaningStatus, CleaningType, User
from tests.fixtures.factories import auth_headers, create_cleaning, create_user

START = datetime(2026, 1, 1, tzinfo=UTC)


async def _many(connection: Connection, owner: User, count: int) -> list[int]:
    ids = []
    for n in range(count):
        cleaning = await create_cleaning(
            connection,
            owner=owner,
            name=f"Job {n}",
            price=Decimal(10 + (n * 7) % 50),
            created_at=START + timedelta(minutes=n),
        )
        ids.append(cleaning.id)
    return ids


async def _walk(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], **query: str
) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        params = query if cursor is None else {**query, "cursor": cursor}
        response = await client.get(url, params=params, headers=headers)
        assert response.status_code == 200, response.text
        items.extend(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return items


async def test_lists_only_open_live_cleanings_newest_first(
    client: httpx.AsyncClient, connection: Connection, viewer: User, headers: dict[str, str]
) -> None:
    owner = await create_user(connection)
    ids = await _many(connection, owner, 3)
    await create_cleaning(connection, owner=owner, status=CleaningStatus.assigned)
    gone = await create_cleaning(connection, owner=owner, created_at=START + timedelta(days=9))
    await client.delete(f"/cleanings/{gone.id}", headers=auth_headers_for(client, owner))

    response = await client.get("/cleanings", headers=headers)

    assert response.status_code == 200
    assert [c["id"] for c in response.json()["items"]] == list(reversed(ids))


def auth_headers_for(client: httpx.AsyncClient, user: User) -> dict[str, str]:
    settings: Settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    return auth_headers(settings, user)


async def test_keyset_pages_cover_everything_once(
    client: httpx.AsyncClient, connection: Connection, headers: dict[str, str]
) -> None:
    owner = await create_user(connection)
    ids = await _many(connection, owner, 23)

    newest = await _walk(client, "/cleanings", headers, limit="5")
    by_price = await _walk(client, "/cleanings", headers, limit="4", sort="price")

    assert [c["id"] for c in newest] == list(reversed(ids))
    assert sorted(c["id"] for c in by_price) == sorted(ids)
    prices = [(Decimal(c["price"]), c["id"]) for c in by_price]
    assert prices == sorted(prices)


async def test_filters_by_type_price_and_owner(
    client: httpx.AsyncClient, connection: Connection, headers: dict[str, str]
) -> None:
    alice = await create_user(connection, username="alice")
    bob = await create_user(connection, username="bob")
    match = await create_cleaning(
        connection, owner=alice, cleaning_type=CleaningType.full_clean, price=Decimal("50")
    )
    await create_cleaning(
        connection, owner=alice, cleaning_type=CleaningType.full_clean, price=Decimal("5")
    )
    await create_cleaning(
        connection, owner=alice, cleaning_type=CleaningType.dust_up, price=Decimal("50")
    )
    await create_cleaning(
        connection, owner=bob, cleaning_type=CleaningType.full_clean, price=Decimal("50")
    )

    response = await client.get(
        "/cleanings",
        params={
            "cleaning_type": "full_clean",
            "min_price": "10",
            "max_price": 60,
            "owner": "ALICE",
            "with_count": "true",
        },
        headers=headers,
    )

    assert response.status_code == 200
    assert [c["id"] for c in response.json()["items"]] == [match.id]
    assert response.json()["total"] == 1


@pytest.mark.parametrize(
    "params",
    [
        {"min_price": "20", "max_price": "10"},
        {"sort": "relevance"},
        {"sort": "oldest"},
        {"limit": "0"},
        {"limit": "101"},
        {"cleaning_type": "scrub"},
        {"min_price": "1.001"},
        {"colour": "red"},
    ],
)
async def test_bad_query_parameters_are_422(
    client: httpx.AsyncClient, headers: dict[str, str], params: dict[str, str]
) -> None:
    response = await client.get("/cleanings", params=params, headers=headers)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"


async def test_list_needs_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/cleanings")

    assert response.status_code == 401


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "", "A" * 40, "eyJhIjoxfQ", "%27%3B%20drop%20table%20cleaning%3B%20--"],
)
async def test_tampered_cursor_is_400(
    client: httpx.AsyncClient, headers: dict[str, str], cursor: str
) -> None:
    response = await client.get("/cleanings", params={"cursor": cursor}, headers=headers)

    assert response.status_code == 400
    assert response.json()["type"].endswith("invalid-cursor")


async def test_cursor_of_another_listing_is_400(
    client: httpx.AsyncClient, connection: Connection, headers: dict[str, str]
) -> None:
    owner = await create_user(connection)
    await _many(connection, owner, 3)
    by_price = await client.get("/cleanings?limit=1&sort=price", headers=headers)
    cursor = by_price.json()["next_cursor"]
    assert cursor is not None

    newest = await client.get("/cleanings", params={"cursor": cursor}, headers=headers)
    mine = await client.get("/users/me/cleanings", params={"cursor": cursor}, headers=headers)
    feed = await client.get("/feed/cleanings", params={"cursor": cursor}, headers=headers)

    assert [newest.status_code, mine.status_code, feed.status_code] == [400, 400, 400]


# --- full-text search -------------------------------------------------------------------


async def test_search_stems_words(
    client: httpx.AsyncClient, connection: Connection, headers: dict[str, str]
) -> None:
    owner = await create_user(connection)
    cleaned = await create_cleaning(
        connection, owner=owner, name="Oven", description="The oven must be cleaned thoroughly"
    )
    await create_cleaning(connection, owner=owner, name="Windows", description="Wash the glass")

    response = await client.get("/cleanings", params={"q": "cleaning"}, headers=headers)

    assert response.status_code == 200
    assert [c["id"] for c in response.json()["items"]] == [cleaned.id]


async def test_search_ranks_name_matches_first(
    client: httpx.AsyncClient, connection: Connection, headers: dict[str, str]
) -> None:
    owner = await create_user(connection)
    in_description = await create_cleaning(
        connection, owner=owner, name="Flat", description="Also the kitchen, please"
    )
    in_name = await create_cleaning(
        connection, owner=owner, name="Kitchen deep clean", description="Hob and oven"
    )

    response = await client.get("/cleanings", params={"q": "kitchen"}, headers=headers)

    assert [c["id"] for c in response.json()["items"]] == [in_name.id, in_description.id]


async def test_search_pages_by_relevance_without_repeats(
    client: httpx.AsyncClient, connection: Connection, headers: dict[str, str]
) -> None:
    owner = await create_user(connection)
    for n in range(7):
        await create_cleaning(
            connection, owner=owner, name=f"Bathroom {n}", description="bathroom " * (n + 1)
        )

    found = await _walk(client, "/cleanings", headers, q="bathroom", limit="3")

    assert len(found) == len({c["id"] for c in found}) == 7


async def test_search_without_match_is_an_empty_page(
    client: httpx.AsyncClient, connection: Connection, headers: dict[str, str]
) -> None:
    owner = await create_user(connection)
    await create_cleaning(connection, owner=owner)

    response = await client.get("/cleanings", params={"q": "zeppelin"}, headers=headers)

    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None, "total": None}


@pytest.mark.parametrize(
    "q",
    [
        "'; drop table cleaning; --",
        'unbalanced "quote',
        "a & | ! ( ) : * <-> b",
        "the",
        "x" * 256,
        "-" * 33,
        "kitchen " + "-" * 200,
        "a-" * 8 + "a",
    ],
)
async def test_hostile_search_input_gets_a_normal_answer(
    client: httpx.AsyncClient, connection: Connection, headers: dict[str, str], q: str
) -> None:
    owner = await create_user(connection)
    await create_cleaning(connection, owner=owner, name="Kitchen")

    response = await client.get("/cleanings", params={"q": q}, headers=headers)

    assert response.status_code == 200
    assert isinstance(response.json()["items"], list)
    still_there = await client.get("/cleanings", headers=headers)
    assert len(still_there.json()["items"]) == 1


# --- no N+1 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/cleanings", "/users/me/cleanings", "/feed/cleanings", "/cleanings?q=job"],
)
async def test_statement_count_does_not_grow_with_page_size(
    client: httpx.AsyncClient,
    connection: Connection,
    viewer: User,
    headers: dict[str, str],
    url: str,
) -> None:
    for _ in range(6):
        owner = await create_user(connection)
        await _many(connection, owner, 5)
    await _many(connection, viewer, 30)
    statements: list[str] = []

    def count(record: LoggedQuery) -> None:
        statements.append(record.query)

    counts = []
    # Every request of the test app runs on the test's connection: its statements are these.
    with connection.query_logger(count):
        for limit in (2, 25):
            statements.clear()
            separator = "&" if "?" in url else "?"
            response = await client.get(f"{url}{separator}limit={limit}", headers=headers)
            assert response.status_code == 200
            assert len(response.json()["items"]) == limit
            await asyncio.sleep(0)  # asyncpg calls the logger soon after each statement
            counts.append(len([s for s in statements if "SAVEPOINT" not in s]))

    assert counts[0] == counts[1]
    assert 0 < counts[0] <= 3  # 0: the logger saw none of the app's statements
