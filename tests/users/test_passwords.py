"""The process's password-hashing gate: a few hashes at a time, a bounded queue, a quick 503
beyond it, and hashes renewed when the costs change."""

import asyncio
import threading
import time
from collections.abc import Iterator

import pytest
from argon2 import extract_parameters
from pwdlib.hashers.argon2 import Argon2Hasher

from phresh.db import Connection, Pool
from phresh.errors import ServiceUnavailable
from phresh.main import create_app
from phresh.users import repository
from phresh.users.passwords import Passwords, passwords
from tests.fixtures.client import app_on, client_of
from tests.fixtures.database import make_settings
from tests.fixtures.factories import DEFAULT_PASSWORD, create_user

CHEAP = {"time_cost": 1, "memory_kib": 64, "parallelism": 1}


class SlowHashes:
    """Argon2Hasher.hash made slow and counted: how many ran at the same time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running = 0
        self.most = 0
        self.release = threading.Event()

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        with self.lock:
            self.running += 1
            self.most = max(self.most, self.running)
        self.release.wait(5)
        with self.lock:
            self.running -= 1
        return "$argon2id$slow"


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowHashes]:
    slow = SlowHashes()
    # A bound method as a class attribute: called without the hasher.
    monkeypatch.setattr(Argon2Hasher, "hash", slow.hash)
    try:
        yield slow
    finally:
        slow.release.set()


async def admitted(tasks: list[asyncio.Task[str]], slow: SlowHashes, running: int) -> None:
    """Until ``running`` hashes run in threads and every other task waits for a turn."""
    async with asyncio.timeout(5):
        while slow.running < running:  # noqa: ASYNC110 - a thread's state to poll
            await asyncio.sleep(0.005)
    assert not any(task.done() for task in tasks)


async def test_at_most_the_concurrency_hashes_run_at_once(slow: SlowHashes) -> None:
    gate = Passwords(**CHEAP, concurrency=2, queue=4)
    tasks = [asyncio.create_task(gate.hash(f"password {n}")) for n in range(6)]
    await admitted(tasks, slow, running=2)
    slow.release.set()

    assert await asyncio.gather(*tasks) == ["$argon2id$slow"] * 6
    assert slow.most == 2


async def test_beyond_the_queue_a_hash_is_refused_at_once_with_retry_after(
    slow: SlowHashes,
) -> None:
    gate = Passwords(**CHEAP, concurrency=1, queue=1)
    tasks = [asyncio.create_task(gate.hash(f"password {n}")) for n in range(2)]
    await admitted(tasks, slow, running=1)

    with pytest.raises(ServiceUnavailable) as refused:
        await gate.hash("one too many")
    slow.release.set()

    assert refused.value.headers == {"Retry-After": "1"}
    assert await asyncio.gather(*tasks) == ["$argon2id$slow"] * 2
    # Their places are free again.
    assert await gate.hash("after") == "$argon2id$slow"


async def test_a_login_beyond_the_queue_answers_503_while_the_others_are_served(
    database_url: str, live_pool: Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with live_pool.acquire() as setup:
        user = await create_user(setup)
    # The check of the user's password made slow and counted.
    slow = SlowHashes()
    monkeypatch.setattr(
        Argon2Hasher, "verify", lambda hasher, password, hash: slow.hash(password) != ""
    )
    settings = make_settings(database_url, password_hash_concurrency=1, password_hash_queue=1)
    form = {"username": user.username, "password": DEFAULT_PASSWORD}
    app = create_app(settings)
    async with app.router.lifespan_context(app), client_of(app) as client:
        first = [asyncio.create_task(client.post("/auth/token", data=form)) for _ in range(2)]
        async with asyncio.timeout(5):
            # One check running, the other waiting its turn: the queue is full.
            while slow.running < 1 or passwords().admitted < 2:  # noqa: ASYNC110 - polled state
                await asyncio.sleep(0.005)
        started = time.monotonic()
        refused = await client.post("/auth/token", data=form)
        waited = time.monotonic() - started
        slow.release.set()
        served = await asyncio.gather(*first)
    slow.release.set()

    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["detail"] == "Too many password checks are under way; retry in a moment."
    # Refused at once, not after the queue (the hashes ahead wait for the test's release).
    assert waited < 2
    assert [response.status_code for response in served] == [200, 200]


async def test_a_hash_made_with_other_costs_is_renewed_at_login(
    database_url: str, connection: Connection
) -> None:
    user = await create_user(connection)
    old_hash = await Passwords(**CHEAP, concurrency=1, queue=0).hash(DEFAULT_PASSWORD)
    await repository.set_password(connection, user.id, old_hash)
    settings = make_settings(database_url)
    form = {"username": user.username, "password": DEFAULT_PASSWORD}
    async with app_on(settings, connection) as app, client_of(app) as client:
        response = await client.post("/auth/token", data=form)
        again = await client.post("/auth/token", data=form)

    renewed = await connection.fetchval('SELECT password_hash FROM "user" WHERE id = $1', user.id)
    assert response.status_code == 200, response.text
    assert again.status_code == 200, again.text
    parameters = extract_parameters(renewed)
    assert (parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (
        settings.password_hash_time_cost,
        settings.password_hash_memory_kib,
        settings.password_hash_parallelism,
    )


async def test_a_renewal_does_not_undo_a_password_changed_meanwhile(connection: Connection) -> None:
    user = await create_user(connection)
    await repository.set_password(connection, user.id, "changed meanwhile")

    await repository.renew_password_hash(connection, user.id, user.password_hash, "renewed")

    current = await connection.fetchval('SELECT password_hash FROM "user" WHERE id = $1', user.id)
    assert current == "changed meanwhile"
