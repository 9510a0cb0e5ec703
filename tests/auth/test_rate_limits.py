"""The four limited endpoints answer 429 with Retry-After past their limits, and two app
instances on one Redis share the count."""

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from redis.asyncio import Redis

from phresh.config import Settings
from phresh.db import Connection
from phresh.ratelimit import RateLimits
from tests.fixtures.client import app_on, client_of
from tests.fixtures.factories import auth_headers, create_user

REDIS_URL = "redis://127.0.0.1:6379/0"
Call = Callable[[httpx.AsyncClient], Any]


@asynccontextmanager
async def app_client(
    settings: Settings, connection: Connection, *, namespace: str | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """An app on the test's connection; with ``namespace``, its limits on Redis under it."""
    async with app_on(settings, connection) as app:
        if namespace is not None:
            await app.state.rate_limits.close()
            app.state.rate_limits = RateLimits.from_settings(settings, namespace=namespace)
        async with client_of(app) as client:
            yield client


def tight(settings: Settings, **limits: object) -> Settings:
    return settings.model_copy(update=limits)


@pytest.mark.parametrize(
    ("setting", "path", "body"),
    [
        ("rate_limit_register_per_account", "/users", "register"),
        ("rate_limit_forgot_password_per_account", "/auth/forgot-password", "forgot"),
        ("rate_limit_verify_resend_per_account", "/auth/verify-email/resend", "resend"),
        ("rate_limit_login_per_account", "/auth/token", "login"),
    ],
)
async def test_each_limited_endpoint_answers_429_past_its_limit(
    settings: Settings, connection: Connection, setting: str, path: str, body: str
) -> None:
    user = await create_user(connection, username="ada", email="ada@example.com")
    request: dict[str, Any] = {
        "register": {
            "json": {"username": "newbie", "email": "new@example.com", "password": "long enough"}
        },
        "forgot": {"json": {"email": "ada@example.com"}},
        "resend": {"headers": auth_headers(settings, user)},
        "login": {"data": {"username": "ada", "password": "not the password"}},
    }[body]

    async with app_client(tight(settings, **{setting: "1/hour"}), connection) as client:
        first = await client.post(path, **request)
        second = await client.post(path, **request)

    assert first.status_code < 429
    assert second.status_code == 429
    assert 3590 <= int(second.headers["retry-after"]) <= 3600
    assert second.headers["content-type"] == "application/problem+json"


async def test_a_password_change_counts_against_the_login_limit(
    settings: Settings, connection: Connection
) -> None:
    user = await create_user(connection, username="ada")
    body = {"current_password": "wrong guess", "new_password": "a brand new password"}

    async with app_client(
        tight(settings, rate_limit_login_per_account="2/hour"), connection
    ) as client:
        answers = [
            (
                await client.post(
                    "/users/me/password", json=body, headers=auth_headers(settings, user)
                )
            ).status_code
            for _ in range(3)
        ]

    assert answers == [403, 403, 429]


@pytest.fixture
async def redis_namespace() -> AsyncIterator[str]:
    redis = Redis.from_url(REDIS_URL)
    try:
        await redis.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means: no Redis here
        await redis.aclose()
        pytest.skip(f"Redis on 127.0.0.1:6379 does not answer: {type(exc).__name__}: {exc}")
    namespace = f"phresh-test-{secrets.token_hex(4)}"
    try:
        yield namespace
    finally:
        keys = [key async for key in redis.scan_iter(match=f"{namespace}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_two_app_instances_on_one_redis_share_the_login_limit(
    settings: Settings, connection: Connection, redis_namespace: str
) -> None:
    shared = tight(
        settings, redis_url=SecretStr(REDIS_URL), rate_limit_login_per_account="2/minute"
    )
    form = {"username": "ada", "password": "not the password"}

    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(
            app_client(shared, connection, namespace=redis_namespace)
        )
        second = await stack.enter_async_context(
            app_client(shared, connection, namespace=redis_namespace)
        )
        answers = [
            (await first.post("/auth/token", data=form)).status_code,
            (await second.post("/auth/token", data=form)).status_code,
            (await first.post("/auth/token", data=form)).status_code,
            (await second.post("/auth/token", data=form)).status_code,
        ]

    assert answers == [401, 401, 429, 429]


@pytest.mark.parametrize(
    ("setting", "path"),
    [
        ("rate_limit_register_per_address", "/users"),
        ("rate_limit_forgot_password_per_address", "/auth/forgot-password"),
        ("rate_limit_verify_resend_per_address", "/auth/verify-email/resend"),
        ("rate_limit_login_per_address", "/auth/token"),
    ],
)
async def test_each_limited_endpoint_counts_per_client_address_across_accounts(
    settings: Settings, connection: Connection, setting: str, path: str
) -> None:
    users = [await create_user(connection, username=name) for name in ("ada", "bob")]

    def request(n: int) -> dict[str, Any]:
        user = users[n]
        return {
            "/users": {
                "json": {
                    "username": f"new{n}",
                    "email": f"new{n}@example.com",
                    "password": "x" * 12,
                }
            },
            "/auth/forgot-password": {"json": {"email": user.email}},
            "/auth/verify-email/resend": {"headers": auth_headers(settings, user)},
            "/auth/token": {"data": {"username": user.username, "password": "not it"}},
        }[path]

    async with app_client(tight(settings, **{setting: "1/hour"}), connection) as client:
        first = await client.post(path, **request(0))
        second = await client.post(path, **request(1))

    assert first.status_code < 429
    assert second.status_code == 429
    assert "from this address" in second.json()["detail"]


async def test_an_email_change_counts_against_the_login_limit(
    settings: Settings, connection: Connection
) -> None:
    user = await create_user(connection, username="ada")
    body = {"email": "ada@new.example", "current_password": "wrong guess"}

    async with app_client(
        tight(settings, rate_limit_login_per_account="2/hour"), connection
    ) as client:
        answers = [
            (
                await client.patch("/users/me", json=body, headers=auth_headers(settings, user))
            ).status_code
            for _ in range(3)
        ]

    assert answers == [403, 403, 429]
