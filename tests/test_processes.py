"""Two processes serve one database interchangeably: tokens, sessions, cursors, rate limits,
and a key rotated one process at a time.

Each process here is an app of its own (create_app with Settings of its own: its own pool,
token reader and its cache, cursor codec, rate limits), as each `phresh serve` process is;
a client's requests go to either, as behind a load balancer. What they commit is truncated
afterwards (``live_pool``).
"""

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from phresh.auth.service import key_id
from phresh.db import Pool
from phresh.main import create_app
from phresh.ratelimit import account_key
from tests.fixtures.client import client_of
from tests.fixtures.database import TEST_JWT_SECRET, make_settings

# A database of this machine's Redis that the rate limit tests (db 0) do not use: the apps
# here count under the default namespace, as served processes do.
REDIS_URL = "redis://127.0.0.1:6379/3"
PASSWORD = "s3cret-Passw0rd"
OLD_SECRET = TEST_JWT_SECRET
NEW_SECRET = "the-next-secret-0123456789-0123456789-abcdef"


@dataclass
class Process:
    app: FastAPI
    client: httpx.AsyncClient


Serve = Callable[..., Awaitable[Process]]


@pytest.fixture
async def serve(database_url: str, live_pool: Pool) -> AsyncIterator[Serve]:
    """Starts a process on the run's database with these settings; all stop at the end."""
    async with AsyncExitStack() as running:

        async def start(**overrides: object) -> Process:
            app = create_app(make_settings(database_url, **overrides))
            await running.enter_async_context(app.router.lifespan_context(app))
            return Process(app, await running.enter_async_context(client_of(app)))

        yield start


async def register(process: Process, username: str = "ada") -> None:
    user = {"username": username, "email": f"{username}@example.com", "password": PASSWORD}
    response = await process.client.post("/users", json=user)
    assert response.status_code == 201, response.text


async def log_in(process: Process, username: str = "ada") -> Any:
    response = await process.client.post(
        "/auth/token", data={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return response.json()


def bearer(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


async def me(process: Process, pair: dict[str, Any]) -> httpx.Response:
    return await process.client.get("/users/me", headers=bearer(pair))


async def test_a_session_started_on_one_process_is_served_and_renewed_by_the_other(
    serve: Serve,
) -> None:
    a, b = await serve(), await serve()
    await register(a)
    first = await log_in(a)

    assert (await me(b, first)).json()["username"] == "ada"
    renewed = await b.client.post(
        "/auth/token", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    assert renewed.status_code == 200, renewed.text
    second = renewed.json()
    assert (await me(a, second)).status_code == 200
    # Its session ends on b: a, which verified (and cached) the token, refuses it too.
    assert (await b.client.post("/auth/logout", headers=bearer(second))).status_code == 204
    assert (await me(a, second)).status_code == 401


async def test_a_token_minted_on_a_process_whose_clock_is_2_s_ahead_works_on_the_other(
    serve: Serve,
) -> None:
    ahead, b, strict = await serve(), await serve(), await serve(jwt_leeway_s=0)
    ahead.app.state.clock = lambda: datetime.now(UTC) + timedelta(seconds=2)
    await register(ahead)

    pair = await log_in(ahead)

    assert (await me(b, pair)).status_code == 200
    # What the leeway (30 s by default) is for: without it, its iat is in the future.
    assert (await me(strict, pair)).status_code == 401


async def make_cleanings(process: Process, pair: dict[str, Any], names: list[str]) -> None:
    for name in names:
        response = await process.client.post(
            "/cleanings", json={"name": name, "price": "20.00"}, headers=bearer(pair)
        )
        assert response.status_code == 201, response.text


async def page(
    process: Process, pair: dict[str, Any], cursor: str | None = None
) -> tuple[list[str], str | None]:
    params = {"limit": "2"} if cursor is None else {"limit": "2", "cursor": cursor}
    response = await process.client.get("/users/me/cleanings", params=params, headers=bearer(pair))
    assert response.status_code == 200, response.text
    body = response.json()
    return [item["name"] for item in body["items"]], body["next_cursor"]


async def test_a_listing_begun_on_one_process_continues_on_the_other(serve: Serve) -> None:
    a, b = await serve(), await serve()
    await register(a)
    pair = await log_in(a)
    for n, name in enumerate(["one", "two", "three", "four", "five"]):
        await make_cleanings((a, b)[n % 2], pair, [name])

    first, cursor = await page(a, pair)
    second, cursor = await page(b, pair, cursor)
    third, cursor = await page(a, pair, cursor)

    # Newest first, each once.
    assert [first, second, third] == [["five", "four"], ["three", "two"], ["one"]]
    assert cursor is None


@pytest.fixture
async def redis_client() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001 - whatever the reason, there is no Redis to test
        await client.aclose()
        pytest.skip(f"Redis on 127.0.0.1:6379 does not answer: {type(exc).__name__}: {exc}")
    yield client
    await client.aclose()


async def test_a_rate_limit_counted_on_one_process_holds_on_the_other(
    serve: Serve, redis_client: Redis
) -> None:
    limits = {
        "redis_url": REDIS_URL,
        "rate_limit_login_per_account": "2/minute",
        "rate_limit_login_per_address": "1000/minute",
    }
    a, b = await serve(**limits), await serve(**limits)
    # A login nobody else counts against, in this run or another on this machine.
    login = f"nobody-{os.getpid()}-{secrets.token_hex(4)}"
    form = {"username": login, "password": PASSWORD}

    try:
        answers = [
            await a.client.post("/auth/token", data=form),
            await a.client.post("/auth/token", data=form),
            await b.client.post("/auth/token", data=form),
        ]
    finally:
        keys = [key async for key in redis_client.scan_iter(match=f"*{account_key(login)}*")]
        if keys:
            await redis_client.delete(*keys)

    assert [answer.status_code for answer in answers] == [401, 401, 429]
    assert keys  # counted in Redis, where both look


# Key rotation, one process at a time


async def cursor_of(process: Process, pair: dict[str, Any]) -> str:
    _, cursor = await page(process, pair)
    assert cursor is not None
    return cursor


async def test_a_key_rotated_in_the_documented_order_logs_nobody_out(serve: Serve) -> None:
    """1. the new secret goes out as a previous secret everywhere; 2. it becomes current,
    the old one previous, everywhere; 3. once the old one's tokens have expired, it goes.
    At each step some processes run the old settings and some the new: each must accept
    what every other issues."""
    a, b = await serve(jwt_secret=OLD_SECRET), await serve(jwt_secret=OLD_SECRET)
    await register(a)
    pair = await log_in(a)
    await make_cleanings(a, pair, ["one", "two", "three"])
    cursor = await cursor_of(a, pair)

    # Step 1, a first: nothing signs with the new secret yet.
    a = await serve(jwt_secret=OLD_SECRET, jwt_previous_secrets=NEW_SECRET)
    assert (await me(a, pair)).status_code == 200
    assert (await page(a, pair, cursor))[1] is None
    b = await serve(jwt_secret=OLD_SECRET, jwt_previous_secrets=NEW_SECRET)

    # Step 2, a first: a signs with the new secret, which b already verifies.
    a = await serve(jwt_secret=NEW_SECRET, jwt_previous_secrets=OLD_SECRET)
    from_a = await log_in(a)
    assert jwt.get_unverified_header(from_a["access_token"])["kid"] == key_id(NEW_SECRET)
    assert (await me(b, from_a)).status_code == 200
    assert (await page(b, from_a, await cursor_of(a, from_a)))[1] is None
    from_b = await log_in(b)
    assert (await me(a, from_b)).status_code == 200
    assert (await page(a, from_b, await cursor_of(b, from_b)))[1] is None
    assert (await me(a, pair)).status_code == 200
    b = await serve(jwt_secret=NEW_SECRET, jwt_previous_secrets=OLD_SECRET)
    assert (await me(b, from_a)).status_code == 200

    # Step 3: the old secret goes; a token it signed, if one is left, is refused, and its
    # client renews it with its refresh token (opaque, signed with nothing): still logged in.
    a = await serve(jwt_secret=NEW_SECRET)
    assert (await me(a, from_b)).status_code == 401
    renewed = await a.client.post(
        "/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": from_b["refresh_token"]},
    )
    assert renewed.status_code == 200, renewed.text
    assert (await me(a, renewed.json())).status_code == 200
    assert (await me(b, renewed.json())).status_code == 200


async def test_a_key_made_current_before_another_process_knows_it_is_refused_there(
    serve: Serve,
) -> None:
    """Skipping step 1: tokens and cursors from the process with the new secret are refused
    by one that has never heard of it (401 invalid-token, 400 invalid-cursor) until it is
    deployed there too; the other way round still works."""
    a = await serve(jwt_secret=NEW_SECRET, jwt_previous_secrets=OLD_SECRET)
    b = await serve(jwt_secret=OLD_SECRET)
    await register(a)
    from_a, from_b = await log_in(a), await log_in(b)
    await make_cleanings(a, from_a, ["one", "two", "three"])

    refused = await me(b, from_a)
    listing = await b.client.get(
        "/users/me/cleanings",
        params={"limit": "2", "cursor": await cursor_of(a, from_b)},
        headers=bearer(from_b),
    )

    assert refused.status_code == 401
    assert refused.json()["type"].endswith("invalid-token")
    assert listing.status_code == 400
    assert listing.json()["type"].endswith("invalid-cursor")
    assert (await me(a, from_b)).status_code == 200
