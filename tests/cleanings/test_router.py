from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from phresh.config import Settings
from phresh.db import Connection
from phresh.models import Cleaning, CleaningStatus, CleaningType, User
from tests.fixtures.factories import auth_headers, create_cleaning, create_user, reload_cleaning

PROBLEM = "application/problem+json"
NEW_CLEANING = {
    "name": "Spring clean, 3 rooms",
    "description": "Kitchen, bathroom and living room.",
    "cleaning_type": "full_clean",
    "price": "25",
}


async def soft_delete(connection: Connection, cleaning: Cleaning) -> None:
    await connection.execute(
        "UPDATE cleaning SET status = 'cancelled', deleted_at = now() WHERE id = $1", cleaning.id
    )


async def count_cleanings(connection: Connection) -> int:
    count: int = await connection.fetchval("SELECT count(*) FROM cleaning")
    return count


async def list_all_pages(
    client: httpx.AsyncClient, headers: dict[str, str], limit: int
) -> list[list[int]]:
    pages: list[list[int]] = []
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        response = await client.get("/users/me/cleanings", params=params, headers=headers)
        assert response.status_code == 200
        body = response.json()
        pages.append([item["id"] for item in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


async def first_cursor(
    client: httpx.AsyncClient, connection: Connection, settings: Settings, user: User
) -> str:
    """A ``next_cursor`` minted for ``user``'s own listing (two cleanings, pages of one)."""
    for _ in range(2):
        await create_cleaning(connection, owner=user)
    response = await client.get(
        "/users/me/cleanings", params={"limit": 1}, headers=auth_headers(settings, user)
    )
    cursor = response.json()["next_cursor"]
    assert isinstance(cursor, str)
    return cursor


# POST /cleanings


async def test_create_cleaning_is_open_and_owned_by_the_caller(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection, username="ada")

    response = await client.post(
        "/cleanings", json=NEW_CLEANING, headers=auth_headers(settings, user)
    )

    assert response.status_code == 201
    body = response.json()
    assert body["owner"] == "ada"
    assert body["status"] == "open"
    assert body["name"] == NEW_CLEANING["name"]
    assert body["description"] == NEW_CLEANING["description"]
    assert body["cleaning_type"] == "full_clean"
    stored_owner = await connection.fetchval(
        "SELECT owner_id FROM cleaning WHERE id = $1", body["id"]
    )
    assert stored_owner == user.id


@pytest.mark.parametrize(
    "price", ["25", 25, "25.0", 25.00], ids=["string", "int", "str.0", "float"]
)
async def test_create_cleaning_answers_price_as_a_two_place_string(
    client: httpx.AsyncClient, connection: Connection, settings: Settings, price: str | float
) -> None:
    user = await create_user(connection)

    response = await client.post(
        "/cleanings", json={**NEW_CLEANING, "price": price}, headers=auth_headers(settings, user)
    )

    assert response.status_code == 201
    assert response.json()["price"] == "25.00"


async def test_create_cleaning_keeps_every_cent_of_a_large_price(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)

    response = await client.post(
        "/cleanings",
        json={**NEW_CLEANING, "price": "99999999.99"},
        headers=auth_headers(settings, user),
    )

    assert response.status_code == 201
    assert response.json()["price"] == "99999999.99"


async def test_create_cleaning_defaults_to_a_spot_clean_with_no_description(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)

    response = await client.post(
        "/cleanings",
        json={"name": "Windows", "price": "12.50"},
        headers=auth_headers(settings, user),
    )

    assert response.status_code == 201
    assert response.json()["cleaning_type"] == "spot_clean"
    assert response.json()["description"] == ""


@pytest.mark.parametrize(
    "raw_price",
    ["0", "-1", "1.234", "100000000", '"abc"', "NaN", '"NaN"', "Infinity", '"0.001"', "null"],
)
async def test_create_cleaning_rejects_a_bad_price(
    client: httpx.AsyncClient, connection: Connection, settings: Settings, raw_price: str
) -> None:
    user = await create_user(connection)
    body = f'{{"name": "Windows", "price": {raw_price}}}'

    response = await client.post(
        "/cleanings",
        content=body,
        headers={**auth_headers(settings, user), "Content-Type": "application/json"},
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert {e["field"] for e in response.json()["errors"]} == {"price"}
    assert await count_cleanings(connection) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "   "),
        ("name", ""),
        ("name", "n" * 201),
        ("description", "d" * 5001),
        ("cleaning_type", "deep_scrub"),
    ],
    ids=["blank-name", "empty-name", "long-name", "long-description", "unknown-type"],
)
async def test_create_cleaning_rejects_a_bad_field_naming_it(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    field: str,
    value: str,
) -> None:
    user = await create_user(connection)

    response = await client.post(
        "/cleanings", json={**NEW_CLEANING, field: value}, headers=auth_headers(settings, user)
    )

    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {field}


async def test_create_cleaning_accepts_the_longest_name_and_description(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)
    data = {**NEW_CLEANING, "name": "n" * 200, "description": "d" * 5000}

    response = await client.post("/cleanings", json=data, headers=auth_headers(settings, user))

    assert response.status_code == 201


async def test_create_cleaning_rejects_unknown_fields(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)

    response = await client.post(
        "/cleanings",
        json={**NEW_CLEANING, "status": "completed"},
        headers=auth_headers(settings, user),
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "status"


async def test_create_cleaning_requires_a_token(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    response = await client.post("/cleanings", json=NEW_CLEANING)

    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert await count_cleanings(connection) == 0


# GET /cleanings/{id}


async def test_read_cleaning_of_another_user(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    owner = await create_user(connection, username="ada")
    reader = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner, price=Decimal("30.5"))

    response = await client.get(f"/cleanings/{cleaning.id}", headers=auth_headers(settings, reader))

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == cleaning.id
    assert body["owner"] == "ada"
    assert body["price"] == "30.50"
    assert body["status"] == "open"


async def test_read_unknown_cleaning_is_404(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)

    response = await client.get("/cleanings/987654321", headers=auth_headers(settings, user))

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("cleaning-not-found")


async def test_read_soft_deleted_cleaning_is_404(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=user)
    await soft_delete(connection, cleaning)

    response = await client.get(f"/cleanings/{cleaning.id}", headers=auth_headers(settings, user))

    assert response.status_code == 404


@pytest.mark.parametrize("cleaning_id", ["0", "-1", "abc", "1.5", str(2**63)])
async def test_read_cleaning_with_an_impossible_id_is_422(
    client: httpx.AsyncClient, connection: Connection, settings: Settings, cleaning_id: str
) -> None:
    user = await create_user(connection)

    response = await client.get(f"/cleanings/{cleaning_id}", headers=auth_headers(settings, user))

    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"cleaning_id"}


async def test_read_cleaning_at_the_largest_id_is_404_not_an_error(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)

    response = await client.get(f"/cleanings/{2**63 - 1}", headers=auth_headers(settings, user))

    assert response.status_code == 404


async def test_read_cleaning_requires_a_token(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner)

    response = await client.get(f"/cleanings/{cleaning.id}")

    assert response.status_code == 401


# PATCH /cleanings/{id}


async def test_owner_updates_a_cleaning(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner)
    patch = {
        "name": "Autumn clean",
        "description": "Leaves everywhere.",
        "cleaning_type": "dust_up",
        "price": 40,
    }

    response = await client.patch(
        f"/cleanings/{cleaning.id}", json=patch, headers=auth_headers(settings, owner)
    )

    assert response.status_code == 200
    body = response.json()
    assert {k: body[k] for k in patch} == {**patch, "price": "40.00"}
    cleaning = await reload_cleaning(connection, cleaning)
    assert cleaning.name == "Autumn clean"
    assert cleaning.cleaning_type == CleaningType.dust_up
    assert cleaning.price == Decimal("40.00")


async def test_update_leaves_absent_fields_alone(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner, description="Keep me.")

    response = await client.patch(
        f"/cleanings/{cleaning.id}", json={"name": "Renamed"}, headers=auth_headers(settings, owner)
    )

    assert response.status_code == 200
    assert response.json()["description"] == "Keep me."
    assert response.json()["price"] == "25.00"


async def test_non_owner_cannot_update_a_cleaning(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    owner = await create_user(connection)
    other = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner)

    response = await client.patch(
        f"/cleanings/{cleaning.id}",
        json={"name": "Mine now"},
        headers=auth_headers(settings, other),
    )

    assert response.status_code == 403
    assert response.json()["type"].endswith("not-cleaning-owner")
    cleaning = await reload_cleaning(connection, cleaning)
    assert cleaning.name == "Spring clean"


async def test_update_unknown_cleaning_is_404(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)

    response = await client.patch(
        "/cleanings/987654321", json={"name": "Ghost"}, headers=auth_headers(settings, user)
    )

    assert response.status_code == 404


async def test_update_soft_deleted_cleaning_is_404(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner)
    await soft_delete(connection, cleaning)

    response = await client.patch(
        f"/cleanings/{cleaning.id}", json={"name": "Back"}, headers=auth_headers(settings, owner)
    )

    assert response.status_code == 404


@pytest.mark.parametrize("field", ["name", "description", "cleaning_type", "price"])
async def test_update_with_an_explicit_null_is_422(
    client: httpx.AsyncClient, connection: Connection, settings: Settings, field: str
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner)

    response = await client.patch(
        f"/cleanings/{cleaning.id}", json={field: None}, headers=auth_headers(settings, owner)
    )

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == [field]
    cleaning = await reload_cleaning(connection, cleaning)
    assert cleaning.name == "Spring clean"


async def test_update_rejects_a_bad_price(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner)

    response = await client.patch(
        f"/cleanings/{cleaning.id}", json={"price": "0"}, headers=auth_headers(settings, owner)
    )

    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"price"}


@pytest.mark.parametrize(
    "patch", [{"price": "30"}, {"cleaning_type": "full_clean"}], ids=["price", "cleaning_type"]
)
async def test_terms_of_an_assigned_cleaning_are_frozen(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    patch: dict[str, str],
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner, status=CleaningStatus.assigned)

    response = await client.patch(
        f"/cleanings/{cleaning.id}", json=patch, headers=auth_headers(settings, owner)
    )

    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("cleaning-locked")
    cleaning = await reload_cleaning(connection, cleaning)
    assert cleaning.price == Decimal("25.00")
    assert cleaning.cleaning_type == CleaningType.spot_clean


async def test_assigned_cleaning_can_still_be_renamed(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner, status=CleaningStatus.assigned)

    response = await client.patch(
        f"/cleanings/{cleaning.id}",
        json={"name": "Spring clean, bring a ladder", "description": "High shelves."},
        headers=auth_headers(settings, owner),
    )

    assert response.status_code == 200
    assert response.json()["name"] == "Spring clean, bring a ladder"
    assert response.json()["status"] == "assigned"


async def test_resending_the_same_price_on_an_assigned_cleaning_is_no_change(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner, status=CleaningStatus.assigned)

    response = await client.patch(
        f"/cleanings/{cleaning.id}",
        json={"price": "25", "cleaning_type": "spot_clean"},
        headers=auth_headers(settings, owner),
    )

    assert response.status_code == 200
    assert response.json()["price"] == "25.00"


@pytest.mark.parametrize(
    "patch",
    [{"name": "Too late"}, {"description": "Too late"}, {"price": "30"}],
    ids=["name", "description", "price"],
)
async def test_completed_cleaning_cannot_change(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    patch: dict[str, str],
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner, status=CleaningStatus.completed)

    response = await client.patch(
        f"/cleanings/{cleaning.id}", json=patch, headers=auth_headers(settings, owner)
    )

    assert response.status_code == 409
    assert response.json()["type"].endswith("cleaning-locked")
    cleaning = await reload_cleaning(connection, cleaning)
    assert cleaning.name == "Spring clean"


async def test_update_requires_a_token(client: httpx.AsyncClient, connection: Connection) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner)

    response = await client.patch(f"/cleanings/{cleaning.id}", json={"name": "Anonymous"})

    assert response.status_code == 401


# DELETE /cleanings/{id}


async def test_owner_deletes_a_cleaning(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner)
    headers = auth_headers(settings, owner)

    response = await client.delete(f"/cleanings/{cleaning.id}", headers=headers)

    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get(f"/cleanings/{cleaning.id}", headers=headers)).status_code == 404
    cancelled = await client.get("/users/me/cleanings?status=cancelled", headers=headers)
    assert [(c["id"], c["status"]) for c in cancelled.json()["items"]] == [
        (cleaning.id, "cancelled")
    ]
    still_open = await client.get("/users/me/cleanings?status=open", headers=headers)
    assert still_open.json()["items"] == []


async def test_delete_is_soft_and_cancels_an_open_cleaning(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner)

    await client.delete(f"/cleanings/{cleaning.id}", headers=auth_headers(settings, owner))

    cleaning = await reload_cleaning(connection, cleaning)
    assert cleaning.deleted_at is not None
    assert cleaning.status == CleaningStatus.cancelled


async def test_deleting_a_completed_cleaning_keeps_it_completed(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner, status=CleaningStatus.completed)

    response = await client.delete(
        f"/cleanings/{cleaning.id}", headers=auth_headers(settings, owner)
    )

    assert response.status_code == 204
    cleaning = await reload_cleaning(connection, cleaning)
    assert cleaning.deleted_at is not None
    assert cleaning.status == CleaningStatus.completed


async def test_deleting_twice_is_404(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner)
    headers = auth_headers(settings, owner)
    await client.delete(f"/cleanings/{cleaning.id}", headers=headers)

    response = await client.delete(f"/cleanings/{cleaning.id}", headers=headers)

    assert response.status_code == 404


async def test_non_owner_cannot_delete_a_cleaning(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    owner = await create_user(connection)
    other = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner)

    response = await client.delete(
        f"/cleanings/{cleaning.id}", headers=auth_headers(settings, other)
    )

    assert response.status_code == 403
    cleaning = await reload_cleaning(connection, cleaning)
    assert cleaning.deleted_at is None


async def test_delete_unknown_cleaning_is_404(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)

    response = await client.delete("/cleanings/987654321", headers=auth_headers(settings, user))

    assert response.status_code == 404


async def test_assigned_cleaning_cannot_be_deleted(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner, status=CleaningStatus.assigned)

    response = await client.delete(
        f"/cleanings/{cleaning.id}", headers=auth_headers(settings, owner)
    )

    assert response.status_code == 409
    assert response.json()["type"].endswith("cleaning-locked")
    cleaning = await reload_cleaning(connection, cleaning)
    assert cleaning.deleted_at is None
    assert cleaning.status == CleaningStatus.assigned


async def test_delete_requires_a_token(client: httpx.AsyncClient, connection: Connection) -> None:
    owner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner)

    response = await client.delete(f"/cleanings/{cleaning.id}")

    assert response.status_code == 401


# GET /users/me/cleanings


async def test_my_cleanings_lists_only_my_own(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    me = await create_user(connection)
    other = await create_user(connection)
    mine = [await create_cleaning(connection, owner=me) for _ in range(2)]
    await create_cleaning(connection, owner=other)

    response = await client.get("/users/me/cleanings", headers=auth_headers(settings, me))

    assert response.status_code == 200
    assert {item["id"] for item in response.json()["items"]} == {c.id for c in mine}


async def test_my_cleanings_include_every_status(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    me = await create_user(connection)
    for status in CleaningStatus:
        await create_cleaning(connection, owner=me, status=status)

    response = await client.get("/users/me/cleanings", headers=auth_headers(settings, me))

    assert {item["status"] for item in response.json()["items"]} == {
        s.value for s in CleaningStatus
    }


async def test_my_cleanings_are_newest_first(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    me = await create_user(connection)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    # Created in an order that differs from their ids, so the sort cannot be by id alone.
    for hours in (2, 0, 3, 1):
        await create_cleaning(
            connection, owner=me, name=f"at {hours}h", created_at=start + timedelta(hours=hours)
        )

    response = await client.get("/users/me/cleanings", headers=auth_headers(settings, me))

    names = [item["name"] for item in response.json()["items"]]
    assert names == ["at 3h", "at 2h", "at 1h", "at 0h"]


async def test_my_cleanings_pages_through_everything_once(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    me = await create_user(connection)
    # Same transaction, same now(): every created_at ties, so the id must break the tie.
    created = [await create_cleaning(connection, owner=me) for _ in range(7)]

    pages = await list_all_pages(client, auth_headers(settings, me), limit=3)

    assert [len(page) for page in pages] == [3, 3, 1]
    seen = [cleaning_id for page in pages for cleaning_id in page]
    assert seen == sorted((c.id for c in created), reverse=True)


async def test_my_cleanings_last_full_page_has_no_next_cursor(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    me = await create_user(connection)
    for _ in range(3):
        await create_cleaning(connection, owner=me)

    response = await client.get(
        "/users/me/cleanings", params={"limit": 3}, headers=auth_headers(settings, me)
    )

    assert len(response.json()["items"]) == 3
    assert response.json()["next_cursor"] is None


async def test_my_cleanings_with_count_gives_the_total(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    me = await create_user(connection)
    other = await create_user(connection)
    for _ in range(5):
        await create_cleaning(connection, owner=me)
    deleted = await create_cleaning(connection, owner=me)
    await soft_delete(connection, deleted)
    await create_cleaning(connection, owner=other)

    response = await client.get(
        "/users/me/cleanings",
        params={"limit": 2, "with_count": "true", "status": "open"},
        headers=auth_headers(settings, me),
    )
    everything = await client.get(
        "/users/me/cleanings",
        params={"limit": 2, "with_count": "true"},
        headers=auth_headers(settings, me),
    )

    assert response.status_code == 200
    assert response.json()["total"] == 5
    # A deleted cleaning stays the owner's, listed as cancelled.
    assert everything.json()["total"] == 6
    assert len(response.json()["items"]) == 2


async def test_my_cleanings_omit_the_total_unless_asked(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    me = await create_user(connection)
    await create_cleaning(connection, owner=me)

    response = await client.get("/users/me/cleanings", headers=auth_headers(settings, me))

    assert response.json()["total"] is None


async def test_my_cleanings_filter_by_status(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    me = await create_user(connection)
    await create_cleaning(connection, owner=me, status=CleaningStatus.open)
    assigned = await create_cleaning(connection, owner=me, status=CleaningStatus.assigned)

    response = await client.get(
        "/users/me/cleanings", params={"status": "assigned"}, headers=auth_headers(settings, me)
    )

    assert [item["id"] for item in response.json()["items"]] == [assigned.id]


async def test_my_cleanings_refuse_a_tampered_cursor(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    me = await create_user(connection)
    cursor = await first_cursor(client, connection, settings, me)
    tampered = cursor[:5] + ("A" if cursor[5] != "A" else "B") + cursor[6:]

    response = await client.get(
        "/users/me/cleanings", params={"cursor": tampered}, headers=auth_headers(settings, me)
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("invalid-cursor")


@pytest.mark.parametrize("cursor", ["garbage", "", "%%%", "A" * 40])
async def test_my_cleanings_refuse_a_made_up_cursor(
    client: httpx.AsyncClient, connection: Connection, settings: Settings, cursor: str
) -> None:
    me = await create_user(connection)

    response = await client.get(
        "/users/me/cleanings", params={"cursor": cursor}, headers=auth_headers(settings, me)
    )

    assert response.status_code == 400
    assert response.json()["type"].endswith("invalid-cursor")


async def test_my_cleanings_refuse_another_users_cursor(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    me = await create_user(connection)
    other = await create_user(connection)
    their_cursor = await first_cursor(client, connection, settings, other)

    response = await client.get(
        "/users/me/cleanings", params={"cursor": their_cursor}, headers=auth_headers(settings, me)
    )

    assert response.status_code == 400
    assert response.json()["type"].endswith("invalid-cursor")


async def test_my_cleanings_refuse_a_cursor_from_another_status_filter(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    me = await create_user(connection)
    cursor = await first_cursor(client, connection, settings, me)

    response = await client.get(
        "/users/me/cleanings",
        params={"cursor": cursor, "status": "open"},
        headers=auth_headers(settings, me),
    )

    assert response.status_code == 400


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten"])
async def test_my_cleanings_refuse_a_limit_out_of_range(
    client: httpx.AsyncClient, connection: Connection, settings: Settings, limit: str
) -> None:
    me = await create_user(connection)

    response = await client.get(
        "/users/me/cleanings", params={"limit": limit}, headers=auth_headers(settings, me)
    )

    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"limit"}


async def test_my_cleanings_require_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/me/cleanings")

    assert response.status_code == 401
