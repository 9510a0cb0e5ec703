"""The optional read replica (PHRESH_DATABASE_REPLICA_URL): a streaming standby that serves
safe methods while it keeps up.

Which node answers a read:
- a write (any other method) runs on the primary; after its commit the response carries the
  primary's WAL position (``X-Phresh-Commit-Position``);
- a read that sends a position back (``X-Phresh-Read-After``) uses the replica only once the
  replica has replayed that far (known from the last check, or asked then), else the primary:
  a client sees its own writes;
- any read uses the primary while the replica lags more than PHRESH_REPLICA_MAX_LAG_MS behind
  it, cannot be reached, or is no standby any more (promoted): skipped, never fatal.

How far behind it is: a watcher in each process asks both nodes a few times per lag budget.
The replica was caught up at a check when it had replayed the position the primary had then
(or, failing that, at the check before, which dates it to the one before); its lag is the
time since it last was: an upper bound, never an underestimate.
"""

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Literal

import asyncpg
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from phresh.config import Settings
from phresh.errors import DATABASE_FAILURES

logger = logging.getLogger(__name__)

COMMIT_POSITION_HEADER = "X-Phresh-Commit-Position"
READ_AFTER_HEADER = "X-Phresh-Read-After"
# The watcher asks this many times per lag budget (so a healthy replica never looks late),
# but never more often than every MIN_INTERVAL_S nor less than every MAX_INTERVAL_S.
CHECKS_PER_BUDGET = 4
MIN_INTERVAL_S = 0.05
MAX_INTERVAL_S = 1.0
# The most one check may wait for either node.
CHECK_TIMEOUT_S = 1.0
# A pg_lsn is two hexadecimal numbers of at most 8 digits around a slash (0/16B3748).
HEX32_DIGITS = 8
HEX_DIGITS = frozenset("0123456789abcdefABCDEF")

ReplicaState = Literal["in use", "lagging", "unreachable", "not a standby", "starting"]

PRIMARY_POSITION = "SELECT pg_current_wal_lsn()::text"
REPLICA_POSITION = (
    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text, pg_last_wal_receive_lsn()::text"
)
REPLAYED = "SELECT pg_last_wal_replay_lsn()::text"

if TYPE_CHECKING:  # generic in asyncpg-stubs only
    Pool = asyncpg.Pool[asyncpg.Record]
else:
    Pool = asyncpg.Pool


class BadPosition(ValueError):
    """A position that is not a pg_lsn."""


def parse_position(text: str) -> int:
    """A WAL position as PostgreSQL writes it (``16/B374D848``), as one number."""
    high, slash, low = text.partition("/")
    if not slash or not _is_hex32(high) or not _is_hex32(low):
        raise BadPosition(text)
    return (int(high, 16) << 32) | int(low, 16)


def _is_hex32(part: str) -> bool:
    return 0 < len(part) <= HEX32_DIGITS and all(c in HEX_DIGITS for c in part)


def check_interval_s(max_lag_ms: int) -> float:
    return min(MAX_INTERVAL_S, max(MIN_INTERVAL_S, max_lag_ms / 1000 / CHECKS_PER_BUDGET))


class Replica:
    """The replica's pool and what the last checks found. One per process."""

    def __init__(self, pool: Pool, primary: Pool, max_lag_ms: int) -> None:
        self.pool = pool
        self._primary = primary
        self.max_lag_s = max_lag_ms / 1000
        self.interval_s = check_interval_s(max_lag_ms)
        # The furthest position it is known to have replayed.
        self.replayed = 0
        self.state: ReplicaState = "starting"
        # When it last had replayed what the primary had written at the check before.
        self._caught_up_at: float | None = None
        # The primary's position at the last check, and when it was read.
        self._target: tuple[int, float] | None = None
        self._watcher: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._watcher = asyncio.create_task(self._watch(), name="phresh-replica-watcher")

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
        await self.pool.close()

    def lag_ms(self) -> float | None:
        """How far behind it may be, at most, in ms; None when that is not known."""
        if self._caught_up_at is None:
            return None
        return max(0.0, time.monotonic() - self._caught_up_at) * 1000

    def usable(self) -> bool:
        """Whether reads may use it now: a standby that answered, within its lag budget."""
        if self.state not in {"in use", "lagging"} or self._caught_up_at is None:
            return False
        return time.monotonic() - self._caught_up_at <= self.max_lag_s

    def describe(self) -> ReplicaState:
        """What readiness reports: in use, or why reads skip it."""
        if self.state in {"in use", "lagging"}:
            return "in use" if self.usable() else "lagging"
        return self.state

    def mark_unreachable(self, exc: BaseException) -> None:
        """The replica did not answer: skip it until a check finds it again."""
        if self.state != "unreachable":
            logger.warning(
                "replica: unreachable (%s); reading from the primary", type(exc).__name__
            )
        self.state = "unreachable"

    async def has_replayed(self, position: int) -> bool:
        """Whether the replica has replayed ``position`` (asked now when not known yet)."""
        if position <= self.replayed:
            return True
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S), self.pool.acquire() as connection:
                replayed = await connection.fetchval(REPLAYED)
        except DATABASE_FAILURES as exc:
            self.mark_unreachable(exc)
            return False
        if replayed is not None:
            self.replayed = max(self.replayed, parse_position(replayed))
        return position <= self.replayed

    async def check(self) -> None:
        """Ask both nodes where they are: the replica's state and lag after it.

        When the primary does not answer in time (busy, or down), what the replica has
        received stands in for what the primary has written: a replica that replayed all it
        received keeps serving reads while the primary is out.
        """
        target = None
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S / 2), self._primary.acquire() as primary:
                target = parse_position(await primary.fetchval(PRIMARY_POSITION))
        except DATABASE_FAILURES:
            pass
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S / 2), self.pool.acquire() as replica:
                row = await replica.fetchrow(REPLICA_POSITION)
        except DATABASE_FAILURES as exc:
            self.mark_unreachable(exc)
            return
        in_recovery, replayed, received = row if row is not None else (None, None, None)
        if not in_recovery or replayed is None:
            # Promoted (a failover), or a server that never was a standby: what it holds may
            # have left the primary's history. Never read from it.
            self._change_state("not a standby")
            self._caught_up_at = None
            return
        self.replayed = max(self.replayed, parse_position(replayed))
        if target is None:
            target = parse_position(received) if received is not None else self.replayed
        now = time.monotonic()
        if self.replayed >= target:
            self._caught_up_at = now
        elif self._target is not None and self.replayed >= self._target[0]:
            # It has replayed all the primary had written by the check before.
            self._caught_up_at = max(self._caught_up_at or 0.0, self._target[1])
        self._target = (target, now)
        within = self._caught_up_at is not None and now - self._caught_up_at <= self.max_lag_s
        self._change_state("in use" if within else "lagging")

    def _change_state(self, state: ReplicaState) -> None:
        was, self.state = self.state, state
        if state == was:
            return
        lag = self.lag_ms()
        level = logging.INFO if state == "in use" else logging.WARNING
        behind = "" if lag is None else f", {lag:.0f} ms behind at most"
        logger.log(level, "replica: %s%s", state, behind)

    async def _watch(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.interval_s)


async def open_replica(settings: Settings, primary: Pool, pool: Pool) -> Replica:
    """The replica's watcher, started; its first check runs before the first request."""
    replica = Replica(pool, primary, settings.replica_max_lag_ms)
    await replica.check()
    replica.start()
    return replica


class CommitPositionHeader:
    """Adds ``X-Phresh-Commit-Position`` to the response of a write that committed (the
    position ``phresh.db.get_connection`` read after its commit). Pure ASGI; installed only
    with a replica."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_position(message: Message) -> None:
            if message["type"] == "http.response.start":
                position = scope.get("state", {}).get("commit_position")
                if position is not None:
                    headers = MutableHeaders(scope=message)
                    headers[COMMIT_POSITION_HEADER] = position
            await send(message)

        await self.app(scope, receive, send_with_position)
