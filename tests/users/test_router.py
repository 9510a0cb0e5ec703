import asyncio

import httpx
import pytest

from phresh.config import Settings
from phresh.db import Connection, Pool
from tests.fixtures.factories import auth_headers, create_user

NEW_USER = {
    "username": "Jane_Doe",
    "email": "Jane.Doe@Example.com",
    "password": "a long enough password",
    "full_name": "Jane Doe",
}
PROBLEM = "application/problem+json"


async def test_register_returns_user_and_working_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/users", json=NEW_USER)

    assert response.status_code == 201
    body = response.json()
    assert body["user"]["username"] == "jane_doe"
    assert body["user"]["email"] == "jane.doe@example.com"
    assert body["user"]["profile"]["full_name"] == "Jane Doe"
    assert "password" not in response.text
    assert "password_hash" not in response.text
    me = await client.get("/users/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["username"] == "jane_doe"


async def test_register_stores_an_argon2_hash(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await client.post("/users", json=NEW_USER)

    stored = await connection.fetchval(
        'SELECT password_hash FROM "user" WHERE username = $1', "jane_doe"
    )
    assert stored is not None
    assert stored.startswith("$argon2id$")


async def test_register_duplicate_email_any_case_is_409(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="someone", email="jane.doe@example.com")

    response = await client.post("/users", json=NEW_USER)

    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("email-taken")


async def test_register_duplicate_username_any_case_is_409(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="jane_doe", email="other@example.com")

    response = await client.post("/users", json=NEW_USER)

    assert response.status_code == 409
    assert response.json()["type"].endswith("username-taken")


async def test_register_rejects_bad_fields_naming_each(client: httpx.AsyncClient) -> None:
    bad = {"username": "no spaces!", "email": "not-an-email", "password": "pw-9x"}

    response = await client.post("/users", json=bad)

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {"username", "email", "password"}
    assert "pw-9x" not in response.text


async def test_register_rejects_unknown_fields(client: httpx.AsyncClient) -> None:
    response = await client.post("/users", json={**NEW_USER, "is_superuser": True})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "is_superuser"


async def test_register_rejects_overlong_password_and_username(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/users", json={**NEW_USER, "username": "a" * 33, "password": "p" * 129}
    )

    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"username", "password"}


async def test_concurrent_registrations_of_one_email_give_201_and_409(
    live_client: httpx.AsyncClient, live_pool: Pool
) -> None:
    first = {**NEW_USER, "username": "first_one"}
    second = {**NEW_USER, "username": "second_one"}

    responses = await asyncio.gather(
        live_client.post("/users", json=first), live_client.post("/users", json=second)
    )

    assert sorted(r.status_code for r in responses) == [201, 409]
    count = await live_pool.fetchval(
        'SELECT count(*) FROM "user" WHERE email = $1', "jane.doe@example.com"
    )
    assert count == 1


async def test_me_requires_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/me")

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == PROBLEM


async def test_me_rejects_a_forged_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/users/me", headers={"Authorization": "Bearer abc.def.ghi"})

    assert response.status_code == 401
    assert response.json()["type"].endswith("invalid-token")


async def test_me_rejects_a_disabled_account(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection, is_active=False)

    response = await client.get("/users/me", headers=auth_headers(settings, user))

    assert response.status_code == 401


async def test_public_profile_hides_private_fields(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    viewer = await create_user(connection)
    await create_user(connection, username="cleo", full_name="Cleo B")

    response = await client.get("/profiles/CLEO", headers=auth_headers(settings, viewer))

    assert response.status_code == 200
    assert response.json() == {
        "username": "cleo",
        "full_name": "Cleo B",
        "bio": None,
        "image_url": None,
    }


async def test_unknown_profile_is_404(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    viewer = await create_user(connection)

    response = await client.get("/profiles/nobody", headers=auth_headers(settings, viewer))

    assert response.status_code == 404
    assert response.json()["type"].endswith("user-not-found")


async def test_profile_requires_a_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/profiles/anyone")

    assert response.status_code == 401


async def test_update_own_profile(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)
    patch = {
        "full_name": "Ada L",
        "phone_number": "+44 20 7946 0000",
        "bio": "Tidy.",
        "image_url": "https://img.example.com/a.png",
    }

    response = await client.patch("/profiles/me", json=patch, headers=auth_headers(settings, user))

    assert response.status_code == 200
    profile = response.json()["profile"]
    assert {k: profile[k] for k in patch} == patch


async def test_update_profile_rejects_bad_values(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)
    patch = {"phone_number": "call me", "image_url": "javascript:alert(1)", "bio": "x" * 2001}

    response = await client.patch("/profiles/me", json=patch, headers=auth_headers(settings, user))

    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"phone_number", "image_url", "bio"}


async def test_update_profile_requires_a_token(client: httpx.AsyncClient) -> None:
    response = await client.patch("/profiles/me", json={"bio": "hi"})

    assert response.status_code == 401


@pytest.mark.parametrize("username", ["mine", "MINE"])
async def test_a_username_that_means_the_caller_in_paths_is_refused(
    client: httpx.AsyncClient, username: str
) -> None:
    payload = {"username": username, "email": "m@example.com", "password": "long enough pw"}

    response = await client.post("/users", json=payload)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "username"
    assert "reserved" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("email", ["zöe@example.com", "zoe@exämple.com"])
async def test_an_address_mail_servers_may_refuse_is_a_422(
    client: httpx.AsyncClient, email: str
) -> None:
    response = await client.post("/users", json={**NEW_USER, "email": email})

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["email"]
    assert "ASCII" in response.json()["errors"][0]["message"]
