"""The offer state machine: every allowed move, every forbidden one, and the races."""

import asyncio
from decimal import Decimal

import asyncpg
import httpx
import pytest

from phresh.config import Settings
from phresh.db import Connection, Pool
from phresh.models import Cleaning, CleaningStatus, OfferStatus, User
from tests.fixtures.factories import auth_headers, create_cleaning, create_offer, create_user


async def offer_status(connection: Connection, cleaning: Cleaning, cleaner: User) -> OfferStatus:
    status = await connection.fetchval(
        "SELECT status FROM offer WHERE cleaning_id = $1 AND cleaner_id = $2",
        cleaning.id,
        cleaner.id,
    )
    assert status is not None
    return OfferStatus(status)


async def cleaning_status(connection: Connection, cleaning: Cleaning) -> CleaningStatus:
    status = await connection.fetchval("SELECT status FROM cleaning WHERE id = $1", cleaning.id)
    assert status is not None
    return CleaningStatus(status)


@pytest.fixture
async def owner(connection: Connection) -> User:
    return await create_user(connection, username="owner")


@pytest.fixture
async def cleaner(connection: Connection) -> User:
    return await create_user(connection, username="cleaner")


@pytest.fixture
async def cleaning(connection: Connection, owner: User) -> Cleaning:
    return await create_cleaning(connection, owner=owner)


# --- making an offer -----------------------------------------------------------------


async def test_cleaner_offers_on_open_cleaning(
    client: httpx.AsyncClient, settings: Settings, cleaning: Cleaning, cleaner: User
) -> None:
    response = await client.post(
        f"/cleanings/{cleaning.id}/offers", headers=auth_headers(settings, cleaner)
    )

    assert response.status_code == 201
    body = response.json()
    assert body["cleaner"] == "cleaner"
    assert body["status"] == "pending"
    assert body["cleaning_id"] == cleaning.id


async def test_offer_on_own_cleaning_is_403(
    client: httpx.AsyncClient, settings: Settings, cleaning: Cleaning, owner: User
) -> None:
    response = await client.post(
        f"/cleanings/{cleaning.id}/offers", headers=auth_headers(settings, owner)
    )

    assert response.status_code == 403
    assert response.json()["type"].endswith("own-cleaning")


async def test_second_offer_by_same_cleaner_is_409(
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
    assert response.json()["type"].endswith("already-offered")


@pytest.mark.parametrize("status", [CleaningStatus.assigned, CleaningStatus.completed])
async def test_offer_on_cleaning_not_open_is_409(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    owner: User,
    cleaner: User,
    status: CleaningStatus,
) -> None:
    cleaning = await create_cleaning(connection, owner=owner, status=status)

    response = await client.post(
        f"/cleanings/{cleaning.id}/offers", headers=auth_headers(settings, cleaner)
    )

    assert response.status_code == 409
    assert response.json()["type"].endswith("cleaning-not-open")


async def test_offer_on_missing_cleaning_is_404(
    client: httpx.AsyncClient, settings: Settings, cleaner: User
) -> None:
    response = await client.post(
        "/cleanings/999999/offers", headers=auth_headers(settings, cleaner)
    )

    assert response.status_code == 404


async def test_offer_on_deleted_cleaning_is_404(
    client: httpx.AsyncClient,
    settings: Settings,
    cleaning: Cleaning,
    owner: User,
    cleaner: User,
) -> None:
    deleted = await client.delete(
        f"/cleanings/{cleaning.id}", headers=auth_headers(settings, owner)
    )
    assert deleted.status_code == 204

    response = await client.post(
        f"/cleanings/{cleaning.id}/offers", headers=auth_headers(settings, cleaner)
    )

    assert response.status_code == 404


async def test_offer_needs_a_token(client: httpx.AsyncClient, cleaning: Cleaning) -> None:
    response = await client.post(f"/cleanings/{cleaning.id}/offers")

    assert response.status_code == 401


# --- reading offers ----------------------------------------------------------------------


async def test_owner_lists_every_offer(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    cleaning: Cleaning,
    owner: User,
) -> None:
    for n in range(3):
        cleaner = await create_user(connection, username=f"c{n}x")
        await create_offer(connection, cleaning=cleaning, cleaner=cleaner)

    response = await client.get(
        f"/cleanings/{cleaning.id}/offers", headers=auth_headers(settings, owner)
    )

    assert response.status_code == 200
    assert sorted(o["cleaner"] for o in response.json()["items"]) == ["c0x", "c1x", "c2x"]
    assert response.json()["next_cursor"] is None


async def test_owner_pages_through_offers_by_cursor_with_a_total(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    cleaning: Cleaning,
    owner: User,
) -> None:
    for n in range(5):
        cleaner = await create_user(connection, username=f"c{n}x")
        await create_offer(connection, cleaning=cleaning, cleaner=cleaner)
    headers = auth_headers(settings, owner)

    seen: list[str] = []
    pages = 0
    params: dict[str, str] = {"limit": "2", "with_count": "true"}
    while True:
        page = (
            await client.get(f"/cleanings/{cleaning.id}/offers", params=params, headers=headers)
        ).json()
        pages += 1
        seen.extend(offer["cleaner"] for offer in page["items"])
        assert page["total"] == 5
        if page["next_cursor"] is None:
            break
        params = {**params, "cursor": page["next_cursor"]}

    assert pages == 3
    assert sorted(seen) == ["c0x", "c1x", "c2x", "c3x", "c4x"]
    assert len(set(seen)) == 5


async def test_non_owner_cannot_list_offers(
    client: httpx.AsyncClient, settings: Settings, cleaning: Cleaning, cleaner: User
) -> None:
    response = await client.get(
        f"/cleanings/{cleaning.id}/offers", headers=auth_headers(settings, cleaner)
    )

    assert response.status_code == 403


async def test_owner_and_author_read_one_offer(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    cleaning: Cleaning,
    owner: User,
    cleaner: User,
) -> None:
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner)

    for reader in (owner, cleaner):
        response = await client.get(
            f"/cleanings/{cleaning.id}/offers/cleaner", headers=auth_headers(settings, reader)
        )
        assert response.status_code == 200
        assert response.json()["cleaner"] == "cleaner"


async def test_third_party_cannot_read_an_offer(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    cleaning: Cleaning,
    cleaner: User,
) -> None:
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner)
    stranger = await create_user(connection)

    response = await client.get(
        f"/cleanings/{cleaning.id}/offers/cleaner", headers=auth_headers(settings, stranger)
    )

    assert response.status_code == 403


async def test_reading_a_missing_offer_is_404(
    client: httpx.AsyncClient, settings: Settings, cleaning: Cleaning, owner: User, cleaner: User
) -> None:
    response = await client.get(
        f"/cleanings/{cleaning.id}/offers/cleaner", headers=auth_headers(settings, owner)
    )

    assert response.status_code == 404
    assert response.json()["type"].endswith("offer-not-found")


# --- accepting ---------------------------------------------------------------------------


async def test_accept_assigns_cleaning_and_rejects_the_others(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    cleaning: Cleaning,
    owner: User,
    cleaner: User,
) -> None:
    other = await create_user(connection, username="other")
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner)
    await create_offer(connection, cleaning=cleaning, cleaner=other)

    response = await client.post(
        f"/cleanings/{cleaning.id}/offers/cleaner/accept", headers=auth_headers(settings, owner)
    )

    assert response.status_code == 200
    assert response.json()["status"] == "accepted"
    assert await offer_status(connection, cleaning, other) == OfferStatus.rejected
    assert await cleaning_status(connection, cleaning) == CleaningStatus.assigned


async def test_only_the_owner_may_accept(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    cleaning: Cleaning,
    cleaner: User,
) -> None:
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner)

    response = await client.post(
        f"/cleanings/{cleaning.id}/offers/cleaner/accept", headers=auth_headers(settings, cleaner)
    )

    assert response.status_code == 403
    assert await offer_status(connection, cleaning, cleaner) == OfferStatus.pending


@pytest.mark.parametrize(
    "status", [OfferStatus.rejected, OfferStatus.cancelled, OfferStatus.accepted]
)
async def test_accepting_an_offer_that_is_not_pending_is_409(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    cleaning: Cleaning,
    owner: User,
    cleaner: User,
    status: OfferStatus,
) -> None:
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner, status=status)

    response = await client.post(
        f"/cleanings/{cleaning.id}/offers/cleaner/accept", headers=auth_headers(settings, owner)
    )

    assert response.status_code == 409


async def test_accepting_on_an_assigned_cleaning_is_409(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    owner: User,
    cleaner: User,
) -> None:
    cleaning = await create_cleaning(connection, owner=owner, status=CleaningStatus.assigned)
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner)

    response = await client.post(
        f"/cleanings/{cleaning.id}/offers/cleaner/accept", headers=auth_headers(settings, owner)
    )

    assert response.status_code == 409
    assert response.json()["type"].endswith("cleaning-not-open")


async def test_accepting_an_unknown_user_or_missing_offer_is_404(
    client: httpx.AsyncClient, settings: Settings, cleaning: Cleaning, owner: User, cleaner: User
) -> None:
    headers = auth_headers(settings, owner)

    no_user = await client.post(f"/cleanings/{cleaning.id}/offers/ghost/accept", headers=headers)
    no_offer = await client.post(f"/cleanings/{cleaning.id}/offers/cleaner/accept", headers=headers)

    assert no_user.status_code == 404
    assert no_offer.status_code == 404


async def test_database_refuses_two_accepted_offers_for_one_cleaning(
    connection: Connection, cleaning: Cleaning, cleaner: User
) -> None:
    other = await create_user(connection)
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner, status=OfferStatus.accepted)

    with pytest.raises(asyncpg.UniqueViolationError) as raised:
        async with connection.transaction():
            await create_offer(
                connection, cleaning=cleaning, cleaner=other, status=OfferStatus.accepted
            )

    assert raised.value.constraint_name == "uq_offer_one_accepted_per_cleaning"


# --- cancelling and rescinding -----------------------------------------------------------


async def test_accepted_cleaner_cancels_and_everything_reopens(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    owner: User,
    cleaner: User,
) -> None:
    cleaning = await create_cleaning(connection, owner=owner, status=CleaningStatus.assigned)
    other = await create_user(connection)
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner, status=OfferStatus.accepted)
    await create_offer(connection, cleaning=cleaning, cleaner=other, status=OfferStatus.rejected)

    response = await client.post(
        f"/cleanings/{cleaning.id}/offers/mine/cancel", headers=auth_headers(settings, cleaner)
    )

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert await offer_status(connection, cleaning, other) == OfferStatus.pending
    assert await cleaning_status(connection, cleaning) == CleaningStatus.open


async def test_cancelling_a_pending_offer_is_409(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    cleaning: Cleaning,
    cleaner: User,
) -> None:
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner)

    response = await client.post(
        f"/cleanings/{cleaning.id}/offers/mine/cancel", headers=auth_headers(settings, cleaner)
    )

    assert response.status_code == 409


async def test_cancelling_without_an_offer_is_404(
    client: httpx.AsyncClient, settings: Settings, cleaning: Cleaning, cleaner: User
) -> None:
    response = await client.post(
        f"/cleanings/{cleaning.id}/offers/mine/cancel", headers=auth_headers(settings, cleaner)
    )

    assert response.status_code == 404


async def test_rescinding_a_pending_offer_removes_it(
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
    count = await connection.fetchval(
        "SELECT count(*) FROM offer WHERE cleaning_id = $1", cleaning.id
    )
    assert count == 0


async def test_rescinding_an_accepted_offer_is_409(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    owner: User,
    cleaner: User,
) -> None:
    cleaning = await create_cleaning(connection, owner=owner, status=CleaningStatus.assigned)
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner, status=OfferStatus.accepted)

    response = await client.delete(
        f"/cleanings/{cleaning.id}/offers/mine", headers=auth_headers(settings, cleaner)
    )

    assert response.status_code == 409
    assert await offer_status(connection, cleaning, cleaner) == OfferStatus.accepted


async def test_rescinding_without_an_offer_is_404(
    client: httpx.AsyncClient, settings: Settings, cleaning: Cleaning, cleaner: User
) -> None:
    response = await client.delete(
        f"/cleanings/{cleaning.id}/offers/mine", headers=auth_headers(settings, cleaner)
    )

    assert response.status_code == 404


async def test_deleting_a_cleaning_rejects_its_pending_offers(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    cleaning: Cleaning,
    owner: User,
    cleaner: User,
) -> None:
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner)

    response = await client.delete(
        f"/cleanings/{cleaning.id}", headers=auth_headers(settings, owner)
    )

    assert response.status_code == 204
    assert await offer_status(connection, cleaning, cleaner) == OfferStatus.rejected
    assert await cleaning_status(connection, cleaning) == CleaningStatus.cancelled


async def test_a_deleted_cleanings_offer_stays_visible_to_its_cleaner_as_rejected(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    cleaning: Cleaning,
    owner: User,
    cleaner: User,
) -> None:
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner)
    stranger = await create_user(connection, username="stranger")
    await client.delete(f"/cleanings/{cleaning.id}", headers=auth_headers(settings, owner))
    url = f"/cleanings/{cleaning.id}/offers/cleaner"

    mine = await client.get("/users/me/offers", headers=auth_headers(settings, cleaner))
    own_read = await client.get(url, headers=auth_headers(settings, cleaner))
    owner_read = await client.get(url, headers=auth_headers(settings, owner))
    stranger_read = await client.get(url, headers=auth_headers(settings, stranger))
    public = await client.get(f"/cleanings/{cleaning.id}", headers=auth_headers(settings, cleaner))

    [item] = mine.json()["items"]
    assert item["status"] == "rejected"
    assert item["cleaning"]["status"] == "cancelled"
    assert own_read.status_code == 200
    assert own_read.json()["status"] == "rejected"
    assert owner_read.status_code == 200
    assert stranger_read.status_code == 404
    assert public.status_code == 404


async def test_a_cancelled_offer_is_final_and_the_answer_says_so(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    cleaning: Cleaning,
    cleaner: User,
) -> None:
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner, status=OfferStatus.cancelled)

    response = await client.post(
        f"/cleanings/{cleaning.id}/offers", headers=auth_headers(settings, cleaner)
    )

    assert response.status_code == 409
    assert response.json()["type"].endswith("offer-final")
    assert "cancelled offer is final" in response.json()["detail"]


# --- the cleaner's own offers (GET /users/me/offers) ------------------------------------


async def test_cleaner_lists_own_offers_newest_first_with_their_cleanings(
    client: httpx.AsyncClient, connection: Connection, settings: Settings, cleaner: User
) -> None:
    owners = [await create_user(connection, username=f"owner{n}") for n in range(3)]
    cleanings = [
        await create_cleaning(connection, owner=owner, name=f"Job {n}", price=Decimal("30.50"))
        for n, owner in enumerate(owners)
    ]
    for cleaning in cleanings:
        await create_offer(connection, cleaning=cleaning, cleaner=cleaner)
    someone_else = await create_user(connection, username="other")
    await create_offer(connection, cleaning=cleanings[0], cleaner=someone_else)

    response = await client.get("/users/me/offers", headers=auth_headers(settings, cleaner))

    assert response.status_code == 200
    items = response.json()["items"]
    # Same transaction, same created_at: the cleaning id breaks the tie, newest first.
    assert [item["cleaning_id"] for item in items] == [c.id for c in reversed(cleanings)]
    assert items[0]["status"] == "pending"
    assert items[0]["cleaning"] == {
        "id": cleanings[2].id,
        "name": "Job 2",
        "price": "30.50",
        "status": "open",
        "owner": "owner2",
    }
    assert response.json()["next_cursor"] is None


async def test_my_offers_filter_by_status_and_page_by_cursor(
    client: httpx.AsyncClient, connection: Connection, settings: Settings, cleaner: User
) -> None:
    owner = await create_user(connection, username="poster")
    expected_pending = []
    for n in range(5):
        cleaning = await create_cleaning(connection, owner=owner)
        status = OfferStatus.pending if n % 2 == 0 else OfferStatus.rejected
        await create_offer(connection, cleaning=cleaning, cleaner=cleaner, status=status)
        if status == OfferStatus.pending:
            expected_pending.append(cleaning.id)
    headers = auth_headers(settings, cleaner)

    seen: list[int] = []
    params: dict[str, str] = {"status": "pending", "limit": "2", "with_count": "true"}
    while True:
        page = (await client.get("/users/me/offers", params=params, headers=headers)).json()
        assert page["total"] == 3
        seen.extend(item["cleaning_id"] for item in page["items"])
        if page["next_cursor"] is None:
            break
        params = {**params, "cursor": page["next_cursor"]}
    everything = await client.get(
        "/users/me/offers", params={"with_count": "true"}, headers=headers
    )

    assert seen == sorted(expected_pending, reverse=True)
    assert everything.json()["total"] == 5


async def test_a_cursor_of_another_status_filter_is_refused(
    client: httpx.AsyncClient, connection: Connection, settings: Settings, cleaner: User
) -> None:
    owner = await create_user(connection, username="poster")
    for _ in range(3):
        await create_offer(
            connection, cleaning=await create_cleaning(connection, owner=owner), cleaner=cleaner
        )
    headers = auth_headers(settings, cleaner)
    first = await client.get("/users/me/offers", params={"limit": "1"}, headers=headers)

    response = await client.get(
        "/users/me/offers",
        params={"limit": "1", "status": "pending", "cursor": first.json()["next_cursor"]},
        headers=headers,
    )

    assert response.status_code == 400


async def test_my_offers_need_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/me/offers")

    assert response.status_code == 401


# --- races, on the real server path: separate connections, committed rows -----------------


async def _committed_cleaning_with_offers(
    pool: Pool, settings: Settings, cleaners: int
) -> tuple[int, dict[str, str], list[tuple[str, dict[str, str]]]]:
    async with pool.acquire() as connection, connection.transaction():
        owner = await create_user(connection, username="raceowner")
        cleaning = await create_cleaning(connection, owner=owner)
        offers = []
        for n in range(cleaners):
            cleaner = await create_user(connection, username=f"racer{n}")
            await create_offer(connection, cleaning=cleaning, cleaner=cleaner)
            offers.append((cleaner.username, auth_headers(settings, cleaner)))
    return cleaning.id, auth_headers(settings, owner), offers


async def test_twenty_concurrent_accepts_have_exactly_one_winner(
    live_client: httpx.AsyncClient, live_pool: Pool, settings: Settings
) -> None:
    cleaning_id, owner_headers, offers = await _committed_cleaning_with_offers(
        live_pool, settings, 20
    )

    responses = await asyncio.gather(
        *(
            live_client.post(
                f"/cleanings/{cleaning_id}/offers/{username}/accept", headers=owner_headers
            )
            for username, _ in offers
        )
    )

    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 19
    statuses = await live_pool.fetch("SELECT status FROM offer WHERE cleaning_id = $1", cleaning_id)
    assert sorted(OfferStatus(r["status"]) for r in statuses) == sorted(
        [OfferStatus.accepted] + [OfferStatus.rejected] * 19
    )
    winner = next(r for r in responses if r.status_code == 200).json()["cleaner"]
    accepted = await live_pool.fetchval(
        'SELECT u.username FROM offer o JOIN "user" u ON u.id = o.cleaner_id '
        "WHERE o.cleaning_id = $1 AND o.status = 'accepted'",
        cleaning_id,
    )
    assert accepted == winner
    status = await live_pool.fetchval("SELECT status FROM cleaning WHERE id = $1", cleaning_id)
    assert status == CleaningStatus.assigned


async def test_offer_racing_an_accept_never_lands_on_an_assigned_cleaning(
    live_client: httpx.AsyncClient, live_pool: Pool, settings: Settings
) -> None:
    cleaning_id, owner_headers, offers = await _committed_cleaning_with_offers(
        live_pool, settings, 1
    )
    async with live_pool.acquire() as connection, connection.transaction():
        latecomers = [await create_user(connection, username=f"late{n}") for n in range(10)]

    accept = live_client.post(
        f"/cleanings/{cleaning_id}/offers/{offers[0][0]}/accept", headers=owner_headers
    )
    late_offers = [
        live_client.post(f"/cleanings/{cleaning_id}/offers", headers=auth_headers(settings, u))
        for u in latecomers
    ]
    responses = await asyncio.gather(accept, *late_offers)

    assert responses[0].status_code == 200
    assert {r.status_code for r in responses[1:]} <= {201, 409}
    pending = await live_pool.fetchval(
        "SELECT count(*) FROM offer WHERE cleaning_id = $1 AND status = 'pending'", cleaning_id
    )
    # Any offer that got in before the accept was rejected by it; none arrived after.
    assert pending == 0
