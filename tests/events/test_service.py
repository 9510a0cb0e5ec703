"""Who is told what: each change of an offer or a cleaning records its events, for the right
recipients, in the request's transaction (a failed request records none)."""

import json
from typing import Any

import httpx
import pytest

from phresh.config import Settings
from phresh.db import Connection
from phresh.models import Cleaning, CleaningStatus, OfferStatus, User
from tests.fixtures.factories import auth_headers, create_cleaning, create_offer, create_user


async def events(connection: Connection) -> list[tuple[str, str, dict[str, Any]]]:
    """Every event as (recipient's username, kind, data), oldest first."""
    rows = await connection.fetch(
        'SELECT u.username, e.kind, e.data::text AS data FROM event e JOIN "user" u '
        "ON u.id = e.user_id ORDER BY e.id"
    )
    return [(row["username"], row["kind"], json.loads(row["data"])) for row in rows]


def about(cleaning: Cleaning, by: str) -> dict[str, Any]:
    return {"cleaning_id": cleaning.id, "cleaning_name": cleaning.name, "by": by}


@pytest.fixture
async def owner(connection: Connection) -> User:
    return await create_user(connection, username="owner")


@pytest.fixture
async def cleaner(connection: Connection) -> User:
    return await create_user(connection, username="cleaner")


@pytest.fixture
async def cleaning(connection: Connection, owner: User) -> Cleaning:
    return await create_cleaning(connection, owner=owner, name="Kitchen deep clean")


async def test_an_offer_tells_the_owner(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    cleaning: Cleaning,
    cleaner: User,
) -> None:
    response = await client.post(
        f"/cleanings/{cleaning.id}/offers", headers=auth_headers(settings, cleaner)
    )

    assert response.status_code == 201
    assert await events(connection) == [("owner", "offer_created", about(cleaning, "cleaner"))]
    cleaning_id = await connection.fetchval("SELECT cleaning_id FROM event")
    assert cleaning_id == cleaning.id


async def test_a_refused_offer_tells_nobody(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    cleaning: Cleaning,
    cleaner: User,
) -> None:
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner)

    response = await client.post(
        f"/cleanings/{cleaning.id}/offers", headers=auth_headers(settings, cleaner)
    )

    assert response.status_code == 409
    assert await events(connection) == []


async def test_withdrawing_an_offer_tells_the_owner(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    cleaning: Cleaning,
    cleaner: User,
) -> None:
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner)

    response = await client.delete(
        f"/cleanings/{cleaning.id}/offers/mine", headers=auth_headers(settings, cleaner)
    )

    assert response.status_code == 204
    assert await events(connection) == [("owner", "offer_withdrawn", about(cleaning, "cleaner"))]


async def test_an_accept_tells_the_accepted_and_each_pending_cleaner(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    owner: User,
    cleaning: Cleaning,
    cleaner: User,
) -> None:
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner)
    for name in ("pending1", "pending2"):
        other = await create_user(connection, username=name)
        await create_offer(connection, cleaning=cleaning, cleaner=other)
    # A cancelled offer is final: its cleaner is not told about this cleaning any more.
    gone = await create_user(connection, username="gone")
    await create_offer(connection, cleaning=cleaning, cleaner=gone, status=OfferStatus.cancelled)
    # Someone else's cleaning: its cleaners hear nothing.
    elsewhere = await create_cleaning(connection, owner=owner, name="Elsewhere")
    await create_offer(connection, cleaning=elsewhere, cleaner=gone)

    response = await client.post(
        f"/cleanings/{cleaning.id}/offers/cleaner/accept", headers=auth_headers(settings, owner)
    )

    assert response.status_code == 200
    told = await events(connection)
    assert sorted(told, key=lambda event: event[0]) == [
        ("cleaner", "offer_accepted", about(cleaning, "owner")),
        ("pending1", "offer_rejected", about(cleaning, "owner")),
        ("pending2", "offer_rejected", about(cleaning, "owner")),
    ]
    rejected = await connection.fetchval(
        "SELECT count(*) FROM offer WHERE cleaning_id = $1 AND status = 'rejected'", cleaning.id
    )
    assert rejected == 2


async def test_an_accept_that_fails_tells_nobody(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    owner: User,
    cleaning: Cleaning,
    cleaner: User,
) -> None:
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner, status=OfferStatus.rejected)
    other = await create_user(connection, username="other")
    await create_offer(connection, cleaning=cleaning, cleaner=other)

    response = await client.post(
        f"/cleanings/{cleaning.id}/offers/cleaner/accept", headers=auth_headers(settings, owner)
    )

    assert response.status_code == 409
    assert await events(connection) == []


async def test_deleting_a_cleaning_tells_each_pending_cleaner(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    owner: User,
    cleaning: Cleaning,
    cleaner: User,
) -> None:
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner)
    withdrawn = await create_user(connection, username="earlier")
    await create_offer(
        connection, cleaning=cleaning, cleaner=withdrawn, status=OfferStatus.rejected
    )

    response = await client.delete(
        f"/cleanings/{cleaning.id}", headers=auth_headers(settings, owner)
    )

    assert response.status_code == 204
    assert await events(connection) == [("cleaner", "cleaning_removed", about(cleaning, "owner"))]


async def test_cancelling_the_accepted_job_tells_the_owner(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    owner: User,
    cleaner: User,
) -> None:
    assigned = await create_cleaning(connection, owner=owner, status=CleaningStatus.assigned)
    await create_offer(connection, cleaning=assigned, cleaner=cleaner, status=OfferStatus.accepted)

    response = await client.post(
        f"/cleanings/{assigned.id}/offers/mine/cancel", headers=auth_headers(settings, cleaner)
    )

    assert response.status_code == 200
    assert await events(connection) == [("owner", "job_cancelled", about(assigned, "cleaner"))]


async def test_an_evaluation_tells_the_cleaner(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    owner: User,
    cleaner: User,
) -> None:
    assigned = await create_cleaning(connection, owner=owner, status=CleaningStatus.assigned)
    await create_offer(connection, cleaning=assigned, cleaner=cleaner, status=OfferStatus.accepted)

    response = await client.post(
        f"/cleanings/{assigned.id}/evaluation",
        json={"overall_rating": 5},
        headers=auth_headers(settings, owner),
    )

    assert response.status_code == 201
    assert await events(connection) == [("cleaner", "evaluation_created", about(assigned, "owner"))]
