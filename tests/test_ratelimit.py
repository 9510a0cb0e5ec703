"""Rate limits: in process always; shared through Redis when this machine's Redis answers."""

import asyncio
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from phresh.auth.exceptions import LoginRateLimited, RateLimited
from phresh.config import Settings
from phresh.errors import TooManyRequests
from phresh.ratelimit import (
    Action,
    RateLimits,
    account_key,
    address_key,
    limits_storage_uri,
    redacted_redis_url,
    rules_from_settings,
)
from tests.fixtures.database import make_settings

# Settings need a database URL to validate; these tests never connect to it.
UNUSED_DATABASE_URL = "postgresql://phresh@127.0.0.1:1/unused"
REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "s3cret-Passw0rd"
LOGGER = "phresh.ratelimit"

# Generous enough that only the limit a test is about is reached.
ROOMY = "1000/minute"


def limit_settings(**overrides: object) -> Settings:
    rates = {
        f"rate_limit_{action}_per_{scope}": ROOMY
        for action in Action
        for scope in ("address", "account")
    }
    return make_settings(UNUSED_DATABASE_URL, **{**rates, **overrides})


def retry_after(error: TooManyRequests) -> int:
    assert error.headers is not None
    value = error.headers["Retry-After"]
    assert value.isdigit()
    assert f"try again in {value} seconds" in error.detail
    return int(value)


@pytest.fixture
async def memory_limits() -> AsyncIterator[RateLimits]:
    limits = RateLimits.from_settings(
        limit_settings(
            rate_limit_login_per_address="5/minute",
            rate_limit_login_per_account="3/minute",
        )
    )
    assert not limits.uses_redis
    yield limits
    await limits.close()


def free_port() -> int:
    """A port with nothing listening on it (once this returns)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# In process


async def test_the_hit_past_the_account_limit_is_refused_with_retry_after(
    memory_limits: RateLimits,
) -> None:
    for _ in range(3):
        await memory_limits.hit_login(address="192.0.2.1", account="alice")

    with pytest.raises(LoginRateLimited) as refused:
        await memory_limits.hit_login(address="192.0.2.1", account="alice")

    assert 59 <= retry_after(refused.value) <= 60
    assert "login attempts for this account" in refused.value.detail


@pytest.mark.parametrize("action", [a for a in Action if a is not Action.login])
async def test_other_actions_past_their_limit_raise_rate_limited(action: Action) -> None:
    settings = limit_settings(**{f"rate_limit_{action}_per_address": "2/hour"})
    limits = RateLimits.from_settings(settings)
    await limits.hit(action, address="192.0.2.1", account="a@example.com")
    await limits.hit(action, address="192.0.2.1", account="b@example.com")

    with pytest.raises(RateLimited) as refused:
        await limits.hit(action, address="192.0.2.1", account="c@example.com")

    assert not isinstance(refused.value, LoginRateLimited)
    assert 3599 <= retry_after(refused.value) <= 3600
    assert "from this address" in refused.value.detail
    await limits.close()


async def test_an_account_is_limited_across_addresses(memory_limits: RateLimits) -> None:
    for n in range(3):
        await memory_limits.hit_login(address=f"192.0.2.{n}", account="alice")

    with pytest.raises(LoginRateLimited):
        await memory_limits.hit_login(address="198.51.100.7", account="alice")
    # Another account is not affected.
    await memory_limits.hit_login(address="198.51.100.7", account="bob")


async def test_an_address_is_limited_across_accounts(memory_limits: RateLimits) -> None:
    for n in range(5):
        await memory_limits.hit_login(address="192.0.2.1", account=f"user{n}")

    with pytest.raises(LoginRateLimited) as refused:
        await memory_limits.hit_login(address="192.0.2.1", account="someone-else")
    assert "from this address" in refused.value.detail
    # Another address is not affected.
    await memory_limits.hit_login(address="192.0.2.2", account="someone-else")


async def test_an_address_alone_is_counted_when_there_is_no_account(
    memory_limits: RateLimits,
) -> None:
    for _ in range(5):
        await memory_limits.hit_login(address="192.0.2.1", account=None)

    with pytest.raises(LoginRateLimited):
        await memory_limits.hit_login(address="192.0.2.1", account=None)


async def test_account_keys_ignore_case(memory_limits: RateLimits) -> None:
    for login in ("Alice@Example.com", "ALICE@EXAMPLE.COM", "alice@example.com"):
        await memory_limits.hit_login(address="192.0.2.1", account=login)

    with pytest.raises(LoginRateLimited):
        await memory_limits.hit_login(address="192.0.2.2", account="aLiCe@example.COM")


async def test_actions_are_counted_apart() -> None:
    settings = limit_settings(
        rate_limit_login_per_account="1/minute",
        rate_limit_forgot_password_per_account="1/hour",
        rate_limit_verify_resend_per_account="1/hour",
    )
    limits = RateLimits.from_settings(settings)
    for action in (Action.login, Action.forgot_password, Action.verify_resend):
        await limits.hit(action, address="192.0.2.1", account="alice")

    with pytest.raises(LoginRateLimited):
        await limits.hit_login(address="192.0.2.1", account="alice")
    with pytest.raises(RateLimited):
        await limits.hit(Action.forgot_password, address="192.0.2.1", account="alice")
    await limits.close()


async def test_every_limit_of_a_setting_counts_and_the_longest_wait_is_given() -> None:
    limits = RateLimits.from_settings(
        limit_settings(rate_limit_register_per_account="10/minute;2/day")
    )
    await limits.hit(Action.register, address="192.0.2.1", account="new@example.com")
    await limits.hit(Action.register, address="192.0.2.2", account="new@example.com")

    with pytest.raises(RateLimited) as refused:
        await limits.hit(Action.register, address="192.0.2.3", account="new@example.com")

    assert 86_399 <= retry_after(refused.value) <= 86_400
    assert "registration attempts for this email" in refused.value.detail
    await limits.close()


async def test_retry_after_waits_for_the_address_and_the_account_both() -> None:
    settings = limit_settings(
        rate_limit_login_per_address="2/minute", rate_limit_login_per_account="2/hour"
    )
    limits = RateLimits.from_settings(settings)
    await limits.hit_login(address="192.0.2.1", account="alice")
    await limits.hit_login(address="192.0.2.1", account="alice")

    with pytest.raises(LoginRateLimited) as refused:
        await limits.hit_login(address="192.0.2.1", account="alice")

    # The address refused it, but a minute later the account would still refuse it.
    assert "from this address" in refused.value.detail
    assert 3599 <= retry_after(refused.value) <= 3600
    await limits.close()


async def test_an_attempt_refused_for_its_address_does_not_count_for_its_account() -> None:
    settings = limit_settings(
        rate_limit_login_per_address="1/minute", rate_limit_login_per_account="2/minute"
    )
    limits = RateLimits.from_settings(settings)
    await limits.hit_login(address="192.0.2.1", account="alice")
    with pytest.raises(LoginRateLimited):
        await limits.hit_login(address="192.0.2.1", account="alice")

    await limits.hit_login(address="192.0.2.2", account="alice")
    with pytest.raises(LoginRateLimited) as refused:
        await limits.hit_login(address="192.0.2.3", account="alice")
    assert "for this account" in refused.value.detail
    await limits.close()


def test_an_account_key_is_short_whatever_the_account() -> None:
    huge = "A" * 10_000 + "@example.com"

    assert len(account_key(huge)) == 32
    assert account_key(huge) == account_key(huge.lower())
    assert account_key("alice") != account_key("alice2")
    assert "alice" not in account_key("alice")


def test_an_ipv6_client_is_counted_by_its_64_prefix() -> None:
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") != address_key("2001:db8:1:3::1")
    assert address_key("::ffff:192.0.2.1") == address_key("192.0.2.1") == "192.0.2.1"
    assert address_key("testclient") == "testclient"
    assert len(address_key("x/" * 5_000)) == 32


def test_every_setting_is_read() -> None:
    rates = {
        f"rate_limit_{action}_per_{scope}": f"{n + 1}/hour"
        for n, (action, scope) in enumerate(
            (action, scope) for action in Action for scope in ("address", "account")
        )
    }
    rules = rules_from_settings(make_settings(UNUSED_DATABASE_URL, **rates))

    assert {
        f"rate_limit_{a}_per_{s}": f"{r[0].amount}/hour" for (a, s), r in rules.items()
    } == rates


def test_redis_urls_are_logged_without_credentials() -> None:
    assert redacted_redis_url(f"redis://app:{PASSWORD}@cache.internal:6380/2") == (
        "redis://cache.internal:6380/2"
    )
    assert redacted_redis_url(f"rediss://:{PASSWORD}@cache") == "rediss://cache:6379"
    assert redacted_redis_url(f"unix:///run/redis.sock?db=1&password={PASSWORD}") == (
        "unix:///run/redis.sock"
    )


def test_redis_urls_map_to_the_limits_library_uris() -> None:
    assert limits_storage_uri("redis://h:1/0") == "async+redis://h:1/0"
    assert limits_storage_uri("rediss://h:1/0") == "async+rediss://h:1/0"
    assert limits_storage_uri("unix:///run/r.sock?db=1") == "async+redis+unix:///run/r.sock?db=1"


def test_a_redis_url_it_cannot_use_is_refused_without_its_password() -> None:
    rules = rules_from_settings(limit_settings())

    with pytest.raises(ValueError, match="PHRESH_REDIS_URL") as refused:
        RateLimits(rules, redis_url=f"redis://:{PASSWORD}@cache:port/0")

    assert PASSWORD not in str(refused.value)


async def test_an_unreachable_redis_limits_in_process_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    url = f"redis://phresh:{PASSWORD}@127.0.0.1:{free_port()}/0"
    settings = limit_settings(redis_url=url, rate_limit_login_per_account="3/minute")
    limits = RateLimits.from_settings(settings)
    assert limits.uses_redis

    started = time.monotonic()
    for _ in range(3):
        await limits.hit_login(address="192.0.2.1", account="alice")
    with pytest.raises(LoginRateLimited) as refused:
        await limits.hit_login(address="192.0.2.1", account="alice")
    assert time.monotonic() - started < 2

    warnings = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "127.0.0.1" in caplog.text
    assert PASSWORD not in caplog.text
    assert PASSWORD not in refused.value.detail
    await limits.close()


async def test_a_redis_that_does_not_answer_delays_a_request_by_its_timeouts_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connections: list[asyncio.StreamWriter] = []

    async def accept_and_say_nothing(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        connections.append(writer)
        await reader.read()  # until the client gives up and closes
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setattr("phresh.ratelimit.REDIS_TIMEOUT_S", 0.1)
    settings = limit_settings(redis_url=f"redis://127.0.0.1:{port}/0")
    limits = RateLimits.from_settings(settings)

    started = time.monotonic()
    await limits.hit_login(address="192.0.2.1", account="alice")
    waited = time.monotonic() - started
    # Counted in process once Redis stayed silent twice; the next request does not wait.
    await limits.hit_login(address="192.0.2.1", account="alice")

    assert 0.1 <= waited < 1
    assert time.monotonic() - started - waited < 0.1
    assert len(connections) == 2
    await limits.close()
    server.close()
    await server.wait_closed()


# Redis on this machine


@pytest.fixture(scope="session")
async def redis_client() -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001 - whatever the reason, there is no Redis to test
        await client.aclose()
        pytest.skip(f"Redis on 127.0.0.1:6379 does not answer: {type(exc).__name__}: {exc}")
    yield client
    await client.aclose()


@pytest.fixture
async def namespace(redis_client: Redis) -> AsyncIterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards."""
    prefix = f"phresh-test-{os.getpid()}-{secrets.token_hex(4)}"
    yield prefix
    keys = [key async for key in redis_client.scan_iter(match=f"{prefix}:*")]
    if keys:
        await redis_client.delete(*keys)


async def keys_under(redis_client: Redis, namespace: str) -> list[str]:
    return [key.decode() async for key in redis_client.scan_iter(match=f"{namespace}:*")]


async def connections_named(redis_client: Redis, name: str) -> int:
    clients = await redis_client.client_list()
    return sum(1 for client in clients if client.get("name") == name)


@pytest.fixture
def shared_settings() -> Settings:
    return limit_settings(
        redis_url=REDIS_URL,
        rate_limit_login_per_address="4/minute",
        rate_limit_login_per_account="3/minute",
    )


async def test_two_app_instances_share_the_account_limit(
    shared_settings: Settings, namespace: str
) -> None:
    first = RateLimits.from_settings(shared_settings, namespace=namespace)
    second = RateLimits.from_settings(shared_settings, namespace=namespace)
    assert first.uses_redis

    await first.hit_login(address="192.0.2.1", account="alice")
    await second.hit_login(address="192.0.2.2", account="Alice")
    await first.hit_login(address="192.0.2.3", account="ALICE")
    with pytest.raises(LoginRateLimited) as refused:
        await second.hit_login(address="192.0.2.4", account="alice")

    assert 59 <= retry_after(refused.value) <= 60
    await first.close()
    await second.close()


async def test_two_app_instances_share_the_address_limit(
    shared_settings: Settings, namespace: str
) -> None:
    first = RateLimits.from_settings(shared_settings, namespace=namespace)
    second = RateLimits.from_settings(shared_settings, namespace=namespace)

    for n in range(2):
        await first.hit_login(address="2001:db8::1", account=f"a{n}")
        await second.hit_login(address="2001:db8::2", account=f"b{n}")
    with pytest.raises(LoginRateLimited) as refused:
        await first.hit_login(address="2001:db8::3", account="c")

    assert "from this address" in refused.value.detail
    await first.close()
    await second.close()


async def test_redis_keys_are_namespaced_and_short(
    shared_settings: Settings, namespace: str, redis_client: Redis
) -> None:
    limits = RateLimits.from_settings(shared_settings, namespace=namespace)
    login = "Q" * 10_000

    await limits.hit_login(address="192.0.2.1", account=login)

    keys = await keys_under(redis_client, namespace)
    assert sorted(key.split("/")[1:3] for key in keys) == [
        ["login", "account"],
        ["login", "address"],
    ]
    assert f"{namespace}:LIMITER/login/address/192.0.2.1/4/1/minute" in keys
    assert all(len(key) < len(namespace) + 100 for key in keys)
    assert all("QQQQ" not in key for key in keys)
    await limits.close()


async def test_close_lets_go_of_the_redis_connections(
    shared_settings: Settings, namespace: str, redis_client: Redis
) -> None:
    limits = RateLimits.from_settings(shared_settings, namespace=namespace)
    await limits.hit_login(address="192.0.2.1", account="alice")
    assert await connections_named(redis_client, f"{namespace}-ratelimit") == 1

    await limits.close()

    assert await connections_named(redis_client, f"{namespace}-ratelimit") == 0


class RedisProxy:
    """Forwards a local port to Redis; stop() drops it and every connection, as a dying
    Redis would, and start() on the same port brings it back."""

    def __init__(self) -> None:
        self.port = 0
        self.server: asyncio.Server | None = None
        self.handlers: set[asyncio.Task[None]] = set()
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.forward, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        await asyncio.gather(*self.handlers)
        await self.server.wait_closed()

    async def forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.handlers.add(task)
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", 6379)
        self.writers |= {writer, upstream_writer}
        await asyncio.gather(self.pipe(reader, upstream_writer), self.pipe(upstream_reader, writer))
        self.writers -= {writer, upstream_writer}
        self.handlers.discard(task)

    @staticmethod
    async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65_536):
                sink.write(data)
                await sink.drain()
        except OSError:
            pass
        finally:
            sink.close()
            await sink.wait_closed()


@pytest.fixture
async def redis_proxy(redis_client: Redis) -> AsyncIterator[RedisProxy]:
    proxy = RedisProxy()
    await proxy.start()
    yield proxy
    if proxy.server is not None and proxy.server.is_serving():
        await proxy.stop()


async def test_a_redis_restart_between_requests_goes_unnoticed(
    namespace: str,
    redis_client: Redis,
    redis_proxy: RedisProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    settings = limit_settings(rate_limit_login_per_account="2/minute")
    limits = RateLimits(
        rules_from_settings(settings),
        redis_url=f"redis://127.0.0.1:{redis_proxy.port}/0",
        namespace=namespace,
    )
    await limits.hit_login(address="192.0.2.1", account="alice")

    # Every connection is dropped, as by a restart, and the port answers again.
    await redis_proxy.stop()
    await redis_proxy.start()
    await limits.hit_login(address="192.0.2.1", account="alice")

    with pytest.raises(LoginRateLimited):
        await limits.hit_login(address="192.0.2.1", account="alice")
    assert not [r for r in caplog.records if r.name == LOGGER]
    await limits.close()


async def test_a_redis_that_goes_away_mid_run_is_replaced_by_process_counts(
    namespace: str,
    redis_client: Redis,
    redis_proxy: RedisProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    settings = limit_settings(rate_limit_login_per_account="4/minute")
    limits = RateLimits(
        rules_from_settings(settings),
        redis_url=f"redis://127.0.0.1:{redis_proxy.port}/0",
        namespace=namespace,
        # Redis is tried again at the next hit after a failure.
        recheck_after_s=0,
    )
    for _ in range(2):
        await limits.hit_login(address="192.0.2.1", account="alice")
    keys = await keys_under(redis_client, namespace)
    account_list = next(key for key in keys if "/account/" in key)
    assert await redis_client.llen(account_list) == 2

    await redis_proxy.stop()
    # Counted in process now: a fresh count of four, still a limit.
    for _ in range(4):
        await limits.hit_login(address="192.0.2.1", account="alice")
    with pytest.raises(LoginRateLimited):
        await limits.hit_login(address="192.0.2.1", account="alice")
    warnings = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert await redis_client.llen(account_list) == 2

    await redis_proxy.start()
    # Back in Redis, where two of four were used before it went away.
    for _ in range(2):
        await limits.hit_login(address="192.0.2.1", account="alice")
    with pytest.raises(LoginRateLimited):
        await limits.hit_login(address="192.0.2.1", account="alice")
    assert await redis_client.llen(account_list) == 4
    assert "answers again" in caplog.text
    await limits.close()


@pytest.mark.parametrize(
    ("environment", "redis_url", "warned"),
    [
        ("production", None, True),
        ("production", "redis://127.0.0.1:1/0", False),
        ("test", None, False),
    ],
)
async def test_production_without_redis_warns_that_limits_count_per_process(
    caplog: pytest.LogCaptureFixture, environment: str, redis_url: str | None, warned: bool
) -> None:
    settings = limit_settings(environment=environment, redis_url=redis_url)
    with caplog.at_level(logging.WARNING, logger="phresh.ratelimit"):
        limits = RateLimits.from_settings(settings)
    await limits.close()

    said = [r.getMessage() for r in caplog.records if "PHRESH_REDIS_URL" in r.getMessage()]
    assert bool(said) is warned
