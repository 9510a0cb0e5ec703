import asyncio

import httpx
import pytest

from phresh.config import Settings
from phresh.db import Connection, Pool
from phresh.models import Cleaning, CleaningStatus, OfferStatus, User
from tests.fixtures.factories import (
    auth_headers,
    create_cleaning,
    create_evaluation,
    create_offer,
    create_user,
)

GOOD = {
    "headline": "Spotless",
    "comment": "On time, thorough.",
    "professionalism": 5,
    "completeness": 4,
    "efficiency": 4,
    "overall_rating": 5,
}


@pytest.fixture
async def owner(connection: Connection) -> User:
    return await create_user(connection, username="owner")


@pytest.fixture
async def cleaner(connection: Connection) -> User:
    return await create_user(connection, username="cleaner")


@pytest.fixture
async def assigned(connection: Connection, owner: User, cleaner: User) -> Cleaning:
    cleaning = await create_cleaning(connection, owner=owner, status=CleaningStatus.assigned)
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner, status=OfferStatus.accepted)
    return cleaning


async def test_owner_evaluates_and_everything_completes(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    assigned: Cleaning,
    owner: User,
) -> None:
    response = await client.post(
        f"/cleanings/{assigned.id}/evaluation", json=GOOD, headers=auth_headers(settings, owner)
    )

    assert response.status_code == 201
    assert response.json()["cleaner"] == "cleaner"
    assert response.json()["overall_rating"] == 5
    status = await connection.fetchval("SELECT status FROM cleaning WHERE id = $1", assigned.id)
    offer = await connection.fetchval(
        "SELECT status FROM offer WHERE cleaning_id = $1", assigned.id
    )
    assert status == CleaningStatus.completed
    assert offer == OfferStatus.completed


async def test_second_evaluation_is_409(
    client: httpx.AsyncClient, settings: Settings, assigned: Cleaning, owner: User
) -> None:
    headers = auth_headers(settings, owner)
    first = await client.post(f"/cleanings/{assigned.id}/evaluation", json=GOOD, headers=headers)

    second = await client.post(f"/cleanings/{assigned.id}/evaluation", json=GOOD, headers=headers)

    assert first.status_code == 201
    assert second.status_code == 409
    assert second.json()["type"].endswith("already-evaluated")


async def test_only_the_owner_evaluates(
    client: httpx.AsyncClient, settings: Settings, assigned: Cleaning, cleaner: User
) -> None:
    response = await client.post(
        f"/cleanings/{assigned.id}/evaluation", json=GOOD, headers=auth_headers(settings, cleaner)
    )

    assert response.status_code == 403


async def test_evaluating_an_open_cleaning_is_409(
    client: httpx.AsyncClient, connection: Connection, settings: Settings, owner: User
) -> None:
    cleaning = await create_cleaning(connection, owner=owner)

    response = await client.post(
        f"/cleanings/{cleaning.id}/evaluation", json=GOOD, headers=auth_headers(settings, owner)
    )

    assert response.status_code == 409
    assert response.json()["type"].endswith("cleaning-not-assigned")


@pytest.mark.parametrize(
    "bad",
    [
        {"overall_rating": 6},
        {"overall_rating": -1},
        {"overall_rating": 4.5},
        {"overall_rating": "4"},
        {},
        {"overall_rating": 3, "professionalism": 9},
        {"overall_rating": 3, "headline": "h" * 201},
        {"overall_rating": 3, "comment": "c" * 5001},
        {"overall_rating": 3, "stars": 3},
    ],
)
async def test_bad_evaluation_is_422_and_changes_nothing(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    assigned: Cleaning,
    owner: User,
    bad: dict[str, object],
) -> None:
    response = await client.post(
        f"/cleanings/{assigned.id}/evaluation", json=bad, headers=auth_headers(settings, owner)
    )

    assert response.status_code == 422
    assert response.json()["errors"]
    status = await connection.fetchval("SELECT status FROM cleaning WHERE id = $1", assigned.id)
    assert status == CleaningStatus.assigned


async def test_evaluation_of_missing_cleaning_is_404(
    client: httpx.AsyncClient, settings: Settings, owner: User
) -> None:
    response = await client.post(
        "/cleanings/424242/evaluation", json=GOOD, headers=auth_headers(settings, owner)
    )

    assert response.status_code == 404


async def test_list_evaluations_of_a_cleaner_pages_newest_first(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    owner: User,
    cleaner: User,
) -> None:
    for rating in range(1, 6):
        cleaning = await create_cleaning(connection, owner=owner, status=CleaningStatus.completed)
        offer = await create_offer(
            connection, cleaning=cleaning, cleaner=cleaner, status=OfferStatus.completed
        )
        await create_evaluation(connection, offer=offer, overall_rating=rating)
    headers = auth_headers(settings, owner)

    first = await client.get("/users/cleaner/evaluations?limit=3", headers=headers)
    cursor = first.json()["next_cursor"]
    second = await client.get(
        f"/users/cleaner/evaluations?limit=3&cursor={cursor}", headers=headers
    )

    assert first.status_code == second.status_code == 200
    seen = [e["cleaning_id"] for e in first.json()["items"] + second.json()["items"]]
    assert len(seen) == len(set(seen)) == 5
    assert second.json()["next_cursor"] is None


async def test_evaluations_of_unknown_user_is_404(
    client: httpx.AsyncClient, settings: Settings, owner: User
) -> None:
    response = await client.get("/users/ghost/evaluations", headers=auth_headers(settings, owner))

    assert response.status_code == 404


async def test_stats_sum_up_every_evaluation(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    owner: User,
    cleaner: User,
) -> None:
    for rating, no_show in [(5, False), (5, False), (2, False), (0, True)]:
        cleaning = await create_cleaning(connection, owner=owner, status=CleaningStatus.completed)
        offer = await create_offer(
            connection, cleaning=cleaning, cleaner=cleaner, status=OfferStatus.completed
        )
        await create_evaluation(connection, offer=offer, overall_rating=rating, no_show=no_show)

    response = await client.get(
        "/users/cleaner/evaluations/stats", headers=auth_headers(settings, owner)
    )

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 4
    assert body["no_shows"] == 1
    assert body["avg_overall_rating"] == 3.0
    assert (body["min_overall_rating"], body["max_overall_rating"]) == (0, 5)
    assert body["stars"] == {"0": 1, "1": 0, "2": 1, "3": 0, "4": 0, "5": 2}
    assert body["avg_professionalism"] is None


async def test_stats_of_a_cleaner_without_evaluations(
    client: httpx.AsyncClient, settings: Settings, owner: User, cleaner: User
) -> None:
    response = await client.get(
        "/users/cleaner/evaluations/stats", headers=auth_headers(settings, owner)
    )

    assert response.status_code == 200
    assert response.json()["total"] == 0
    assert response.json()["avg_overall_rating"] is None


async def test_one_evaluation_reads_back_by_cleaner_and_cleaning(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    owner: User,
    cleaner: User,
) -> None:
    cleaning = await create_cleaning(connection, owner=owner, status=CleaningStatus.completed)
    offer = await create_offer(
        connection, cleaning=cleaning, cleaner=cleaner, status=OfferStatus.completed
    )
    await create_evaluation(connection, offer=offer, overall_rating=4)
    other = await create_cleaning(connection, owner=owner)
    headers = auth_headers(settings, owner)

    found = await client.get(f"/users/cleaner/evaluations/{cleaning.id}", headers=headers)
    not_evaluated = await client.get(f"/users/cleaner/evaluations/{other.id}", headers=headers)
    someone_else = await client.get(f"/users/owner/evaluations/{cleaning.id}", headers=headers)
    stats = await client.get("/users/cleaner/evaluations/stats", headers=headers)

    assert found.status_code == 200
    assert found.json()["cleaning_id"] == cleaning.id
    assert found.json()["cleaner"] == "cleaner"
    assert found.json()["overall_rating"] == 4
    assert not_evaluated.status_code == 404
    assert not_evaluated.json()["type"].endswith("evaluation-not-found")
    assert someone_else.status_code == 404
    assert stats.status_code == 200


async def test_two_concurrent_evaluations_give_201_and_409(
    live_client: httpx.AsyncClient, live_pool: Pool, settings: Settings
) -> None:
    async with live_pool.acquire() as connection, connection.transaction():
        owner = await create_user(connection, username="evalowner")
        cleaner = await create_user(connection, username="evalcleaner")
        cleaning = await create_cleaning(connection, owner=owner, status=CleaningStatus.assigned)
        await create_offer(
            connection, cleaning=cleaning, cleaner=cleaner, status=OfferStatus.accepted
        )
    headers = auth_headers(settings, owner)

    responses = await asyncio.gather(
        *(
            live_client.post(f"/cleanings/{cleaning.id}/evaluation", json=GOOD, headers=headers)
            for _ in range(2)
        )
    )

    assert sorted(r.status_code for r in responses) == [201, 409]
    stored = await live_pool.fetchval(
        "SELECT count(*) FROM evaluation WHERE cleaning_id = $1", cleaning.id
    )
    assert stored == 1
