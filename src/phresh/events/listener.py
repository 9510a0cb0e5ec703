"""One LISTEN connection per process, waking the streams of the users that are notified.

The ``event`` table is the truth; a notification only says "user U has a new event", and
wakes U's streams in this process, which then read what they have not sent yet. So nothing
is lost while the connection is down: once it is back, every stream is woken to read again.
"""

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import asyncpg

from phresh.config import Settings
from phresh.db import direct_server_settings
from phresh.events import repository
from phresh.events.repository import ListenerConnection

logger = logging.getLogger("phresh.events")

# A connection that was lost is opened again after 0.5 s, then twice as long each time the
# new one fails before it listens, up to this; one that listened starts over at 0.5 s.
MAX_RECONNECT_DELAY_S = 30.0
FIRST_RECONNECT_DELAY_S = 0.5
# How often the connection is checked with a round trip: a connection whose peer vanished
# without closing it (a host gone, a dropped route) would otherwise wait in silence forever.
PING_EVERY_S = 30.0


class Subscription:
    """One stream's doorbell: rung when its user is notified, or when the listener
    reconnects."""

    def __init__(self, user_id: int) -> None:
        self.user_id = user_id
        self._rung = asyncio.Event()

    def ring(self) -> None:
        self._rung.set()

    def clear(self) -> None:
        """Forget the rings so far: call it before reading, so that a ring during the read
        is not lost."""
        self._rung.clear()

    async def wait(self, timeout_s: float) -> bool:
        """Whether it rang within ``timeout_s`` (or had rung since ``clear``)."""
        try:
            await asyncio.wait_for(self._rung.wait(), timeout_s)
        except TimeoutError:
            return False
        return True


class EventListener:
    """The process's LISTEN on ``repository.CHANNEL`` and the subscriptions it wakes.

    Its connection is its own (not the pool's: it stays in LISTEN), opened with the pool's
    settings when the first stream subscribes, kept open, opened again when lost, and
    closed by ``close`` (the app's lifespan).
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._subscriptions: dict[int, set[Subscription]] = {}
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        # Set while the connection is LISTENing: for tests, and whoever needs to wait.
        self.listening = asyncio.Event()
        # Whether the current connection got as far as LISTEN (for the reconnect delay).
        self._listened = False

    def subscriber_count(self) -> int:
        return sum(len(subscriptions) for subscriptions in self._subscriptions.values())

    @contextmanager
    def subscribe(self, user_id: int) -> Iterator[Subscription]:
        """A subscription to ``user_id``'s notifications, for the block."""
        if self._task is None and not self._closed:
            self._task = asyncio.create_task(self._run(), name="phresh event listener")
        subscription = Subscription(user_id)
        self._subscriptions.setdefault(user_id, set()).add(subscription)
        try:
            yield subscription
        finally:
            subscriptions = self._subscriptions[user_id]
            subscriptions.discard(subscription)
            if not subscriptions:
                del self._subscriptions[user_id]

    async def close(self) -> None:
        self._closed = True
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _on_notification(self, connection: object, pid: int, channel: str, payload: object) -> None:
        user_id, _, _ = str(payload).partition(":")
        try:
            subscriptions = self._subscriptions.get(int(user_id), ())
        except ValueError:
            logger.warning("event notification ignored: not <user_id>:<event_id>")
            return
        for subscription in subscriptions:
            subscription.ring()

    def _ring_all(self) -> None:
        for subscriptions in self._subscriptions.values():
            for subscription in subscriptions:
                subscription.ring()

    async def _run(self) -> None:
        failures = 0
        while True:
            self._listened = False
            try:
                await self._listen()
            except Exception as exc:  # noqa: BLE001 - logged, then connected again
                # _listen only ends by raising: a connection that got to listen before it was
                # lost starts the delays over; one that never got there doubles the delay.
                failures = 1 if self._listened else failures + 1
                delay = min(FIRST_RECONNECT_DELAY_S * 2 ** (failures - 1), MAX_RECONNECT_DELAY_S)
                logger.warning(
                    "event listener lost its connection (%s); connecting again in %g s",
                    type(exc).__name__,
                    delay,
                )
                await asyncio.sleep(delay)

    async def _listen(self) -> None:
        """Listen until the connection is lost; ConnectionError then, or whatever failed."""
        connection = await connect(self._settings)
        lost = asyncio.Event()
        try:
            connection.add_termination_listener(lambda _: lost.set())
            await connection.add_listener(repository.CHANNEL, self._on_notification)
            self.listening.set()
            self._listened = True
            # What was committed while nobody listened (before the first connection, or
            # between two) is read now.
            self._ring_all()
            while True:
                with suppress(TimeoutError):
                    await asyncio.wait_for(lost.wait(), PING_EVERY_S)
                if lost.is_set() or connection.is_closed():
                    msg = "the listener's connection was closed"
                    raise ConnectionError(msg)
                await repository.ping(connection, self._settings.db_connect_timeout_s)
        finally:
            self.listening.clear()
            connection.terminate()


async def connect(settings: Settings) -> ListenerConnection:
    """The listener's own connection, straight to PostgreSQL (never through a pooler)."""
    return await asyncpg.connect(
        settings.libpq_listen_url(),
        timeout=settings.db_connect_timeout_s,
        server_settings=direct_server_settings(settings) | {"application_name": "phresh-events"},
    )
