"""Password hashing: argon2id with the parameters of the settings, a few at a time.

An argon2id hash takes ``PHRESH_PASSWORD_HASH_MEMORY_KIB`` of memory (64 MiB by default) and
a core for tens of milliseconds. Unbounded, 64 logins at once took a server to 1.38 GB. So a
process runs at most ``PHRESH_PASSWORD_HASH_CONCURRENCY`` hashes at a time (default: its
cores), lets ``PHRESH_PASSWORD_HASH_QUEUE`` more wait for a turn, and refuses any beyond
that at once (503, Retry-After): a client then waits a second instead of
the whole queue, and the memory a burst can take is bounded.

The gate belongs to the process, as the cores and memory it protects do: one instance,
configured from the settings when the app starts (``configure``). A hash made with other
parameters still verifies; ``verify`` then also answers a new hash with the current ones,
which the login stores (so raising the cost reaches every account that logs in).
"""

import asyncio
import os
from collections.abc import Callable
from typing import TypeVar

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from starlette.concurrency import run_in_threadpool

from phresh.config import Settings
from phresh.errors import ServiceUnavailable

T = TypeVar("T")

BUSY = "Too many password checks are under way; retry in a moment."


def default_concurrency() -> int:
    return os.cpu_count() or 1


class Passwords:
    def __init__(
        self,
        *,
        time_cost: int,
        memory_kib: int,
        parallelism: int,
        concurrency: int,
        queue: int,
    ) -> None:
        self._hasher = PasswordHash(
            (Argon2Hasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism),)
        )
        self._turns = asyncio.Semaphore(concurrency)
        # Hashes running or waiting for a turn, and how many may be.
        self._admitted = 0
        self._capacity = concurrency + queue
        # Verified against when the account does not exist: made once, with these parameters,
        # so that the time spent is the same.
        self._dummy: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "Passwords":
        return cls(
            time_cost=settings.password_hash_time_cost,
            memory_kib=settings.password_hash_memory_kib,
            parallelism=settings.password_hash_parallelism,
            concurrency=settings.password_hash_concurrency or default_concurrency(),
            queue=settings.password_hash_queue,
        )

    @property
    def admitted(self) -> int:
        """Checks running or waiting their turn."""
        return self._admitted

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        """Whether ``password`` matches, and a new hash of it when ``password_hash`` was made
        with other parameters than today's (None otherwise)."""
        return await self._run(self._hasher.verify_and_update, password, password_hash)

    async def burn(self, password: str) -> None:
        """Spend the time a real check would, so a missing user cannot be told apart by
        timing."""
        if self._dummy is None:
            self._dummy = await self._run(self._hasher.hash, "phresh-timing-equaliser")
        await self._run(self._hasher.verify, password, self._dummy)

    async def _run(self, check: Callable[..., T], *args: str) -> T:
        if self._admitted >= self._capacity:
            raise ServiceUnavailable(BUSY)
        self._admitted += 1
        try:
            async with self._turns:
                # Argon2 is deliberately slow: keep it off the event loop.
                return await run_in_threadpool(check, *args)
        finally:
            self._admitted -= 1


# Until the app configures it (a script, a test of a service): the settings' defaults.
_process = Passwords.from_settings(Settings.model_construct())


def configure(settings: Settings) -> None:
    """Make the process's gate from ``settings`` (the app's lifespan calls it)."""
    # The process's one gate, set when the app starts.
    global _process
    _process = Passwords.from_settings(settings)


def passwords() -> Passwords:
    """The process's gate."""
    return _process
