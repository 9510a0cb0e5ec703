"""Cookie mode (``X-Phresh-Client: web``): the refresh token lives in an HttpOnly cookie that
the token endpoint and registration set, a cookie refresh rotates and logout clears; the
body never carries it. The cookie is sent explicitly: the test client's jar keeps no Secure
cookie for http://test."""

from typing import Any

import httpx
import pytest

from phresh.config import Settings
from phresh.db import Connection
from tests.auth.conftest import Clock
from tests.fixtures.client import app_on, client_of
from tests.fixtures.database import make_settings
from tests.fixtures.factories import DEFAULT_PASSWORD, create_user

WEB = {"X-Phresh-Client": "web"}
DAY = 24 * 60 * 60
LOGIN = {"username": "ada", "password": DEFAULT_PASSWORD}
REFRESH = {"grant_type": "refresh_token"}


def refresh_cookie(response: httpx.Response) -> tuple[str, dict[str, str]]:
    """The value and the attributes (lower-cased names) of the one cookie the answer sets."""
    headers = response.headers.get_list("set-cookie")
    assert len(headers) == 1, headers
    pair, *attributes = headers[0].split("; ")
    name, _, value = pair.partition("=")
    assert name == "phresh_refresh"
    parsed = (attribute.partition("=") for attribute in attributes)
    return value, {key.lower(): item for key, _, item in parsed if key.lower() != "expires"}


def with_cookie(value: str, **headers: str) -> dict[str, str]:
    return {"Cookie": f"phresh_refresh={value}", **headers}


def bearer(body: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {body['access_token']}"}


async def web_log_in(client: httpx.AsyncClient) -> tuple[str, dict[str, Any]]:
    response = await client.post("/auth/token", data=LOGIN, headers=WEB)
    assert response.status_code == 200, response.text
    value, _ = refresh_cookie(response)
    return value, response.json()


async def test_a_web_login_sets_the_cookie_and_keeps_the_token_out_of_the_body(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    await create_user(connection, username="ada")

    response = await client.post("/auth/token", data=LOGIN, headers=WEB)

    assert response.status_code == 200
    value, attributes = refresh_cookie(response)
    assert attributes == {
        "httponly": "",
        "max-age": str(settings.refresh_token_days * DAY),
        "path": "/api/v1/auth",
        "samesite": "strict",
        "secure": "",
    }
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["refresh_token"] is None
    assert value not in response.text
    assert len(value) >= 43
    assert response.headers["cache-control"] == "no-store"
    assert (await client.get("/users/me", headers=bearer(body))).status_code == 200


async def test_the_cookie_is_not_secure_in_development(
    database_url: str, connection: Connection
) -> None:
    await create_user(connection, username="ada")
    settings = make_settings(database_url, environment="development")
    async with app_on(settings, connection) as app, client_of(app) as client:
        response = await client.post("/auth/token", data=LOGIN, headers=WEB)

    _, attributes = refresh_cookie(response)
    assert "secure" not in attributes
    assert {"httponly", "samesite", "path", "max-age"} <= set(attributes)


async def test_without_the_header_a_login_sets_no_cookie(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada")

    response = await client.post("/auth/token", data=LOGIN)

    assert "set-cookie" not in response.headers
    assert response.json()["refresh_token"]


async def test_a_refresh_from_the_cookie_rotates_it(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada")
    first, _ = await web_log_in(client)

    response = await client.post("/auth/token", data=REFRESH, headers=with_cookie(first, **WEB))

    assert response.status_code == 200, response.text
    second, attributes = refresh_cookie(response)
    assert second != first
    assert attributes["path"] == "/api/v1/auth"
    assert response.json()["refresh_token"] is None
    assert (await client.get("/users/me", headers=bearer(response.json()))).status_code == 200
    again = await client.post("/auth/token", data=REFRESH, headers=with_cookie(second, **WEB))
    assert again.status_code == 200


async def test_the_cookie_never_outlives_its_session(
    client: httpx.AsyncClient, connection: Connection, settings: Settings, clock: Clock
) -> None:
    await create_user(connection, username="ada")
    cookie, _ = await web_log_in(client)
    # Renewed within the idle limit each time, up to three days before the absolute limit.
    for _ in range(3):
        clock.advance(days=settings.session_max_days // 3 - 1)
        response = await client.post(
            "/auth/token", data=REFRESH, headers=with_cookie(cookie, **WEB)
        )
        assert response.status_code == 200, response.text
        cookie, attributes = refresh_cookie(response)

    assert attributes["max-age"] == str(3 * DAY)


async def test_a_login_cookie_ends_with_a_session_shorter_than_its_token(
    database_url: str, connection: Connection
) -> None:
    await create_user(connection, username="ada")
    settings = make_settings(database_url, refresh_token_days=30, session_max_days=7)
    async with app_on(settings, connection) as app, client_of(app) as client:
        response = await client.post("/auth/token", data=LOGIN, headers=WEB)

    _, attributes = refresh_cookie(response)
    assert attributes["max-age"] == str(7 * DAY)


async def test_without_the_header_the_cookie_is_ignored(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada")
    cookie, _ = await web_log_in(client)

    response = await client.post("/auth/token", data=REFRESH, headers=with_cookie(cookie))

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["refresh_token"]
    assert "set-cookie" not in response.headers
    # Not spent: the web app can still use it.
    renewed = await client.post("/auth/token", data=REFRESH, headers=with_cookie(cookie, **WEB))
    assert renewed.status_code == 200


async def test_a_web_refresh_without_a_cookie_is_no_session(client: httpx.AsyncClient) -> None:
    # What the web app asks at every start, before anyone has logged in on this browser.
    response = await client.post("/auth/token", data=REFRESH, headers=WEB)

    assert response.status_code == 401
    assert response.json()["type"].endswith(":invalid-refresh-token")


async def test_the_form_field_wins_over_the_cookie(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada")
    plain = (await client.post("/auth/token", data=LOGIN)).json()

    response = await client.post(
        "/auth/token",
        data={**REFRESH, "refresh_token": plain["refresh_token"]},
        headers=with_cookie("x" * 43, **WEB),
    )

    assert response.status_code == 200, response.text
    refresh_cookie(response)  # cookie mode all the same
    assert response.json()["refresh_token"] is None


async def test_a_reused_cookie_ends_the_session_and_is_cleared(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada")
    stolen, _ = await web_log_in(client)
    renewed = await client.post("/auth/token", data=REFRESH, headers=with_cookie(stolen, **WEB))
    legitimate, _ = refresh_cookie(renewed)

    replay = await client.post("/auth/token", data=REFRESH, headers=with_cookie(stolen, **WEB))

    assert replay.status_code == 401
    assert replay.json()["type"].endswith(":invalid-refresh-token")
    value, attributes = refresh_cookie(replay)
    assert value in {"", '""'}
    assert attributes["max-age"] == "0"
    assert attributes["path"] == "/api/v1/auth"
    assert {"httponly", "samesite", "secure"} <= set(attributes)
    assert replay.headers["www-authenticate"] == "Bearer"
    reason = await connection.fetchval(
        "SELECT revoked_reason FROM auth_session WHERE revoked_at IS NOT NULL"
    )
    assert reason == "reuse"
    after = await client.post("/auth/token", data=REFRESH, headers=with_cookie(legitimate, **WEB))
    assert after.status_code == 401


async def test_a_refused_form_field_leaves_the_cookie_alone(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada")
    cookie, _ = await web_log_in(client)

    response = await client.post(
        "/auth/token",
        data={**REFRESH, "refresh_token": "x" * 43},
        headers=with_cookie(cookie, **WEB),
    )

    assert response.status_code == 401
    assert "set-cookie" not in response.headers


async def test_log_out_clears_the_cookie(client: httpx.AsyncClient, connection: Connection) -> None:
    await create_user(connection, username="ada")
    cookie, body = await web_log_in(client)

    response = await client.post("/auth/logout", headers=with_cookie(cookie, **bearer(body)))

    assert response.status_code == 204
    value, attributes = refresh_cookie(response)
    assert value in {"", '""'}
    assert attributes == {
        "httponly": "",
        "max-age": "0",
        "path": "/api/v1/auth",
        "samesite": "strict",
        "secure": "",
    }
    ended = await client.post("/auth/token", data=REFRESH, headers=with_cookie(cookie, **WEB))
    assert ended.status_code == 401


async def test_a_web_registration_sets_the_cookie(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    new_user = {"username": "jane", "email": "jane@example.com", "password": "long enough pw"}

    response = await client.post("/users", json=new_user, headers=WEB)

    assert response.status_code == 201, response.text
    cookie, attributes = refresh_cookie(response)
    assert attributes["max-age"] == str(settings.refresh_token_days * DAY)
    assert {"httponly", "secure"} <= set(attributes)
    assert attributes["samesite"] == "strict"
    assert attributes["path"] == "/api/v1/auth"
    assert response.json()["refresh_token"] is None
    assert response.json()["user"]["username"] == "jane"
    renewed = await client.post("/auth/token", data=REFRESH, headers=with_cookie(cookie, **WEB))
    assert renewed.status_code == 200


@pytest.mark.parametrize("value", ["mobile", "WEB", ""])
async def test_another_client_kind_is_a_422(
    client: httpx.AsyncClient, connection: Connection, value: str
) -> None:
    await create_user(connection, username="ada")

    response = await client.post("/auth/token", data=LOGIN, headers={"X-Phresh-Client": value})

    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["X-Phresh-Client"]
