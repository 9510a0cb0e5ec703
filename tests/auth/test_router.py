import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from phresh.auth.service import key_id
from phresh.config import Settings
from phresh.db import Connection
from phresh.main import create_app
from tests.fixtures.client import BASE_URL
from tests.fixtures.database import make_settings
from tests.fixtures.factories import DEFAULT_PASSWORD, create_user, factory_session_id

PROBLEM = "application/problem+json"


def token_claims(settings: Settings, **overrides: Any) -> dict[str, Any]:
    """Claims like those of the API's tokens, with ``overrides`` applied."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": "1",
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + timedelta(minutes=5),
        **overrides,
    }
    # The session create_user starts, unless the test says otherwise.
    claims.setdefault("sid", str(factory_session_id(int(claims["sub"]))))
    return claims


def signed_token(settings: Settings, **overrides: Any) -> str:
    """A token like the API's own (signed, naming its key), with ``overrides`` applied to
    its claims."""
    secret = settings.jwt_secret.get_secret_value()
    claims = token_claims(settings, **overrides)
    return jwt.encode(claims, secret, algorithm="HS256", headers={"kid": key_id(secret)})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
async def strict_client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An app allowing two login attempts per window (no user needed: the limit comes first)."""
    app = create_app(make_settings(database_url, rate_limit_login_per_account="2/minute"))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client


async def test_log_in_with_username_returns_a_bearer_token(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    await create_user(connection, username="ada")

    response = await client.post(
        "/auth/token", data={"username": "ada", "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.jwt_expire_minutes * 60


async def test_log_in_with_email_in_any_case(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada", email="ada@example.com")

    response = await client.post(
        "/auth/token", data={"username": "ADA@Example.COM", "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 200


async def test_issued_token_carries_the_configured_claims(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection, username="ada")

    response = await client.post(
        "/auth/token", data={"username": "ada", "password": DEFAULT_PASSWORD}
    )

    claims = jwt.decode(
        response.json()["access_token"],
        settings.jwt_secret.get_secret_value(),
        algorithms=["HS256"],
        audience=settings.jwt_audience,
        issuer=settings.jwt_issuer,
        options={"require": ["exp", "iss", "aud", "sub", "sid"]},
    )
    assert claims["sub"] == str(user.id)
    assert claims["iss"] == settings.jwt_issuer
    assert claims["aud"] == settings.jwt_audience
    lifetime = claims["exp"] - datetime.now(UTC).timestamp()
    assert settings.jwt_expire_minutes * 60 - 60 < lifetime <= settings.jwt_expire_minutes * 60


async def test_issued_token_opens_users_me(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada")
    login = await client.post("/auth/token", data={"username": "ada", "password": DEFAULT_PASSWORD})

    response = await client.get("/users/me", headers=bearer(login.json()["access_token"]))

    assert response.status_code == 200
    assert response.json()["username"] == "ada"


async def test_wrong_password_and_unknown_user_get_the_same_401(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada")

    wrong_password = await client.post(
        "/auth/token", data={"username": "ada", "password": "not the password"}
    )
    unknown_user = await client.post(
        "/auth/token", data={"username": "nobody", "password": "not the password"}
    )

    assert wrong_password.status_code == unknown_user.status_code == 401
    assert wrong_password.headers["content-type"] == PROBLEM
    assert wrong_password.headers["www-authenticate"] == "Bearer"
    first, second = wrong_password.json(), unknown_user.json()
    assert first["type"] == second["type"]
    assert first["title"] == second["title"]
    assert first["detail"] == second["detail"]


async def test_disabled_account_cannot_log_in(
    client: httpx.AsyncClient, connection: Connection
) -> None:
    await create_user(connection, username="ada", is_active=False)

    response = await client.post(
        "/auth/token", data={"username": "ada", "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 401
    assert response.json()["type"].endswith("invalid-credentials")


async def test_log_in_without_form_fields_is_422_naming_them(client: httpx.AsyncClient) -> None:
    response = await client.post("/auth/token", data={})

    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"username", "password"}


async def test_log_in_past_the_rate_limit_is_429_with_retry_after(
    strict_client: httpx.AsyncClient,
) -> None:
    form = {"username": "ada", "password": "not the password"}
    first = await strict_client.post("/auth/token", data=form)
    second = await strict_client.post("/auth/token", data=form)

    response = await strict_client.post("/auth/token", data=form)

    assert [first.status_code, second.status_code] == [401, 401]
    assert response.status_code == 429
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("login-rate-limited")
    assert 1 <= int(response.headers["retry-after"]) <= 60


async def test_expired_token_is_401(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)
    past = datetime.now(UTC) - timedelta(hours=2)
    token = signed_token(settings, sub=str(user.id), iat=past, exp=past + timedelta(hours=1))

    response = await client.get("/users/me", headers=bearer(token))

    assert response.status_code == 401
    assert response.json()["type"].endswith("invalid-token")


async def test_token_for_another_audience_is_401(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)
    token = signed_token(settings, sub=str(user.id), aud="someone-else")

    response = await client.get("/users/me", headers=bearer(token))

    assert response.status_code == 401
    assert response.json()["type"].endswith("invalid-token")


async def test_token_from_another_issuer_is_401(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)
    token = signed_token(settings, sub=str(user.id), iss="evil")

    response = await client.get("/users/me", headers=bearer(token))

    assert response.status_code == 401
    assert response.json()["type"].endswith("invalid-token")


async def test_token_signed_with_another_secret_is_401(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)
    other = make_settings("postgresql://unused/x", jwt_secret="another-secret-" + "x" * 32)
    token = signed_token(other, sub=str(user.id))

    response = await client.get("/users/me", headers=bearer(token))

    assert response.status_code == 401


async def test_token_without_a_key_id_is_refused_as_a_bad_signature_is(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)
    secret = settings.jwt_secret.get_secret_value()
    claims = token_claims(settings, sub=str(user.id))
    # Signed with the right secret, but naming no key.
    unnamed = jwt.encode(claims, secret, algorithm="HS256")
    # Naming the right key, but signed with another secret.
    forged = jwt.encode(
        claims, "another-secret-" + "x" * 32, algorithm="HS256", headers={"kid": key_id(secret)}
    )

    refusals = [await client.get("/users/me", headers=bearer(t)) for t in (unnamed, forged)]

    assert [r.status_code for r in refusals] == [401, 401]
    problems = [r.json() for r in refusals]
    for problem in problems:
        problem.pop("request_id", None)
        problem.pop("instance", None)
    assert problems[0] == problems[1]
    assert problems[0]["type"].endswith("invalid-token")


async def test_a_token_minted_on_a_clock_2_s_ahead_is_accepted(
    client: httpx.AsyncClient, connection: Connection, app: FastAPI
) -> None:
    await create_user(connection, username="ada")
    app.state.clock = lambda: datetime.now(UTC) + timedelta(seconds=2)
    response = await client.post(
        "/auth/token", data={"username": "ada", "password": DEFAULT_PASSWORD}
    )
    token = response.json()["access_token"]
    assert jwt.decode(token, options={"verify_signature": False})["iat"] > time.time()

    assert (await client.get("/users/me", headers=bearer(token))).status_code == 200


async def test_unsigned_token_is_401(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    user = await create_user(connection)
    claims = {
        "sub": str(user.id),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "exp": datetime.now(UTC) + timedelta(minutes=5),
    }
    token = jwt.encode(claims, key=None, algorithm="none")

    response = await client.get("/users/me", headers=bearer(token))

    assert response.status_code == 401


async def test_token_of_a_deleted_user_is_401(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    token = signed_token(settings, sub=str(2**62))

    response = await client.get("/users/me", headers=bearer(token))

    assert response.status_code == 401
    assert response.json()["type"].endswith("invalid-token")
