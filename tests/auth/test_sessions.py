"""Sessions: login and refresh pairs, rotation, reuse detection, logout, the owner's list and
revocations, password changes, idle and absolute expiry (with the app's clock moved)."""

import asyncio
import hashlib
from datetime import timedelta
from typing import Any

import httpx
import pytest

from phresh.config import Settings
from phresh.db import Connection, Pool
from tests.auth.conftest import Clock
from tests.fixtures.factories import DEFAULT_PASSWORD, auth_headers, create_user


def bearer(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


async def log_in(client: httpx.AsyncClient, username: str = "ada", **headers: str) -> Any:
    response = await client.post(
        "/auth/token",
        data={"username": username, "password": DEFAULT_PASSWORD},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


async def refresh(client: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    return await client.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token}
    )


async def test_a_login_answers_an_access_token_and_an_opaque_refresh_token(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    await create_user(connection, username="ada")

    pair = await log_in(client)

    assert set(pair) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] == settings.jwt_expire_minutes * 60
    refresh_token = pair["refresh_token"]
    assert "." not in refresh_token  # not a JWT
    assert len(refresh_token) >= 43  # 256 bits, base64url
    # Stored as its SHA-256 only.
    digest = hashlib.sha256(refresh_token.encode()).digest()
    assert (
        await connection.fetchval(
            "SELECT count(*) FROM refresh_token WHERE token_hash = $1", digest
        )
        == 1
    )
    stored = await connection.fetch("SELECT * FROM refresh_token")
    stored += await connection.fetch("SELECT * FROM auth_session")
    assert refresh_token not in repr([dict(row) for row in stored])


async def test_a_refresh_rotates_the_pair_and_the_old_refresh_token_stops(
    client: httpx.AsyncClient, connection: Connection, clock: Clock
) -> None:
    await create_user(connection, username="ada")
    first = await log_in(client)

    renewed = await refresh(client, first["refresh_token"])

    assert renewed.status_code == 200
    second = renewed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert (await client.get("/users/me", headers=bearer(second))).status_code == 200
    third = await refresh(client, second["refresh_token"])
    assert third.status_code == 200


async def test_a_reused_refresh_token_ends_its_whole_session(
    client: httpx.AsyncClient, connection: Connection, clock: Clock
) -> None:
    await create_user(connection, username="ada")
    stolen = await log_in(client)
    legitimate = (await refresh(client, stolen["refresh_token"])).json()

    replay = await refresh(client, stolen["refresh_token"])

    assert replay.status_code == 401
    assert replay.json()["type"].endswith(":invalid-refresh-token")
    # The session is over for its rightful holder too, access token included.
    assert (await refresh(client, legitimate["refresh_token"])).status_code == 401
    assert (await client.get("/users/me", headers=bearer(legitimate))).status_code == 401
    reason = await connection.fetchval(
        "SELECT revoked_reason FROM auth_session WHERE revoked_at IS NOT NULL"
    )
    assert reason == "reuse"


async def test_an_unknown_refresh_token_is_refused_and_ends_nothing(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada")
    pair = await log_in(client)

    response = await refresh(client, "x" * 43)

    assert response.status_code == 401
    assert (await client.get("/users/me", headers=bearer(pair))).status_code == 200


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "refresh_token"},
        {"grant_type": "password", "username": "ada"},
        {"grant_type": "client_credentials", "username": "ada", "password": "x"},
    ],
)
async def test_a_grant_without_its_fields_is_a_422(
    client: httpx.AsyncClient, form: dict[str, str]
) -> None:
    response = await client.post("/auth/token", data=form)

    assert response.status_code == 422


async def test_log_out_ends_the_session_at_once(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada")
    pair = await log_in(client)
    other = await log_in(client)

    response = await client.post("/auth/logout", headers=bearer(pair))

    assert response.status_code == 204
    refused = await client.get("/users/me", headers=bearer(pair))
    assert refused.status_code == 401
    assert refused.json()["type"].endswith(":invalid-token")
    assert (await refresh(client, pair["refresh_token"])).status_code == 401
    # Only that session.
    assert (await client.get("/users/me", headers=bearer(other))).status_code == 200


async def test_the_list_of_sessions_marks_the_current_one(
    client: httpx.AsyncClient, connection: Connection, clock: Clock
) -> None:
    await create_user(connection, username="ada")
    phone = await log_in(client, **{"User-Agent": "phone"})
    laptop = await log_in(client, **{"User-Agent": "laptop"})
    await client.post("/auth/logout", headers=bearer(phone))

    response = await client.get("/users/me/sessions", headers=bearer(laptop))

    assert response.status_code == 200
    items = response.json()["items"]
    # The factory's session (no user agent) and the laptop's; the phone logged out.
    assert sorted((item["user_agent"] or "", item["current"]) for item in items) == [
        ("", False),
        ("laptop", True),
    ]
    laptop_session = next(item for item in items if item["current"])
    assert laptop_session["expires_at"] == (clock.now + timedelta(days=90)).isoformat().replace(
        "+00:00", "Z"
    )


async def test_the_list_of_sessions_pages_by_keyset(
    client: httpx.AsyncClient, connection: Connection, clock: Clock
) -> None:
    await create_user(connection, username="ada")
    pairs = []
    for _ in range(3):
        pairs.append(await log_in(client))

    first = (await client.get("/users/me/sessions?limit=2", headers=bearer(pairs[0]))).json()
    second = (
        await client.get(
            f"/users/me/sessions?limit=2&cursor={first['next_cursor']}", headers=bearer(pairs[0])
        )
    ).json()

    seen = [item["id"] for item in first["items"] + second["items"]]
    assert len(seen) == len(set(seen)) == 4  # three logins and the factory's session
    assert second["next_cursor"] is None


async def test_revoking_one_session_refuses_its_access_token(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada")
    mine = await log_in(client)
    lost = await log_in(client)
    items = (await client.get("/users/me/sessions", headers=bearer(mine))).json()["items"]
    lost_id = next(item["id"] for item in items if not item["current"] and item["user_agent"])

    response = await client.delete(f"/users/me/sessions/{lost_id}", headers=bearer(mine))

    assert response.status_code == 204
    assert (await client.get("/users/me", headers=bearer(lost))).status_code == 401
    assert (await refresh(client, lost["refresh_token"])).status_code == 401
    assert (await client.get("/users/me", headers=bearer(mine))).status_code == 200


async def test_someone_elses_session_cannot_be_revoked(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    await create_user(connection, username="ada")
    eve = await create_user(connection, username="eve")
    ada = await log_in(client)
    ada_session = (await client.get("/users/me/sessions", headers=bearer(ada))).json()["items"]
    ada_id = next(item["id"] for item in ada_session if item["current"])

    response = await client.delete(
        f"/users/me/sessions/{ada_id}", headers=auth_headers(settings, eve)
    )

    assert response.status_code == 404
    assert response.json()["type"].endswith(":session-not-found")
    assert (await client.get("/users/me", headers=bearer(ada))).status_code == 200


async def test_revoking_all_other_sessions_keeps_the_current_one(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada")
    keep = await log_in(client)
    others = [await log_in(client) for _ in range(2)]

    response = await client.delete("/users/me/sessions", headers=bearer(keep))

    assert response.status_code == 204
    for other in others:
        assert (await client.get("/users/me", headers=bearer(other))).status_code == 401
        assert (await refresh(client, other["refresh_token"])).status_code == 401
    assert (await client.get("/users/me", headers=bearer(keep))).status_code == 200
    assert (await refresh(client, keep["refresh_token"])).status_code == 200


async def test_a_password_change_ends_every_other_session(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada")
    keep = await log_in(client)
    other = await log_in(client)

    response = await client.post(
        "/users/me/password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": "a brand new password"},
        headers=bearer(keep),
    )

    assert response.status_code == 204
    assert (await client.get("/users/me", headers=bearer(other))).status_code == 401
    assert (await client.get("/users/me", headers=bearer(keep))).status_code == 200
    old = await client.post("/auth/token", data={"username": "ada", "password": DEFAULT_PASSWORD})
    assert old.status_code == 401
    new = await client.post(
        "/auth/token", data={"username": "ada", "password": "a brand new password"}
    )
    assert new.status_code == 200


async def test_a_wrong_current_password_changes_nothing(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada")
    keep = await log_in(client)
    other = await log_in(client)

    response = await client.post(
        "/users/me/password",
        json={"current_password": "not my password", "new_password": "a brand new password"},
        headers=bearer(keep),
    )

    assert response.status_code == 403
    assert response.json()["type"].endswith(":wrong-password")
    assert (await client.get("/users/me", headers=bearer(other))).status_code == 200
    assert (await log_in(client))["access_token"]


async def test_a_refresh_token_unused_for_its_lifetime_expires(
    client: httpx.AsyncClient, connection: Connection, clock: Clock, settings: Settings
) -> None:
    await create_user(connection, username="ada")
    pair = await log_in(client)
    clock.advance(days=settings.refresh_token_days, seconds=1)

    response = await refresh(client, pair["refresh_token"])

    assert response.status_code == 401
    # Expired is not replayed: the session was not revoked for reuse.
    assert (
        await connection.fetchval(
            "SELECT count(*) FROM auth_session WHERE revoked_reason IS NOT NULL"
        )
        == 0
    )


async def test_a_session_ends_at_its_absolute_limit_however_often_it_is_renewed(
    client: httpx.AsyncClient, connection: Connection, clock: Clock, settings: Settings
) -> None:
    await create_user(connection, username="ada")
    pair = await log_in(client)
    for _ in range(3):
        clock.advance(days=29)
        renewed = await refresh(client, pair["refresh_token"])
        assert renewed.status_code == 200
        pair = renewed.json()
    # Ten minutes before the end: the access token lasts ten minutes, not an hour.
    clock.now = clock.start + timedelta(days=settings.session_max_days, minutes=-10)
    last = await refresh(client, pair["refresh_token"])
    assert last.status_code == 200
    assert last.json()["expires_in"] == 600
    clock.now = clock.start + timedelta(days=settings.session_max_days, seconds=1)

    response = await refresh(client, last.json()["refresh_token"])

    assert response.status_code == 401


async def test_a_disabled_account_cannot_renew_its_session(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada")
    pair = await log_in(client)
    await connection.execute("UPDATE \"user\" SET is_active = false WHERE username = 'ada'")

    assert (await refresh(client, pair["refresh_token"])).status_code == 401
    assert (await client.get("/users/me", headers=bearer(pair))).status_code == 401


async def test_registration_starts_a_session(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/users",
        json={"username": "newbie", "email": "newbie@example.com", "password": "long enough pw"},
    )

    assert response.status_code == 201
    body = response.json()
    assert {"access_token", "refresh_token", "expires_in", "token_type", "user"} <= set(body)
    assert (await refresh(client, body["refresh_token"])).status_code == 200


async def test_answers_holding_tokens_are_never_cached(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada")
    login = await client.post("/auth/token", data={"username": "ada", "password": DEFAULT_PASSWORD})
    renewed = await refresh(client, login.json()["refresh_token"])
    registered = await client.post(
        "/users",
        json={"username": "newbie", "email": "newbie@example.com", "password": "long enough pw"},
    )

    for response in (login, renewed, registered):
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["pragma"] == "no-cache"


@pytest.mark.live
async def test_concurrent_refreshes_with_one_token_let_one_through_and_end_the_session(
    live_client: httpx.AsyncClient, live_pool: Pool
) -> None:
    """Committed data, a connection per request: the rotation's row lock decides."""
    async with live_pool.acquire() as connection:
        await create_user(connection, username="ada")
    pair = await log_in(live_client)

    answers = await asyncio.gather(*(refresh(live_client, pair["refresh_token"]) for _ in range(5)))

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200, 401, 401, 401, 401]
    winner = next(answer.json() for answer in answers if answer.status_code == 200)
    # The losers replayed a used token: the session is over, the winner's pair too.
    assert (await refresh(live_client, winner["refresh_token"])).status_code == 401
    reasons = await live_pool.fetch("SELECT revoked_reason FROM auth_session")
    # The login's session, and the factory's (untouched).
    assert sorted(str(row["revoked_reason"]) for row in reasons) == ["None", "reuse"]
