"""Rate limits of the account endpoints, per client address and per account.

Counted by the ``limits`` library: in Redis when ``PHRESH_REDIS_URL`` is set, so that every
worker and machine sharing that Redis shares the counts; in this process otherwise.

Strategy: moving window. A key holds the times of the hits it accepted (at most the limit's
amount: 30 for the default login limit per address), and a hit is accepted while fewer than
that amount fall within the last period. It is exact: a fixed window lets twice the limit
through across a window boundary (20 guesses in two seconds under 10/minute), and the sliding
window counter only estimates, so its reset time is an estimate too, while here the time at
which the oldest hit leaves the window, which the library reports, is the true Retry-After. On
Redis a hit costs one round trip per limit, a Lua call (LINDEX, LPUSH, LTRIM, EXPIRE on one
list), as the other two cost one; a key keeps at most ``amount`` times (some 20 bytes each: 600
bytes for 30/minute) where they keep one or two counters, which matters only for limits far
larger than these, and the keys of a spray of distinct names hold one time each. A refused hit is
not recorded, so hammering on does not push the window further. The times come from the clocks
of the hosts running Phresh, not from Redis: hosts sharing a Redis need their clocks in step
(NTP), a host s seconds ahead keeps its hits counted s seconds longer.

When Redis is configured but fails (refused, timed out, an error answer), the request is
counted in this process instead, as if no Redis were configured, and so are the requests of
the next REDIS_RECHECK_S seconds, after which Redis is tried again. The limits then hold per
process (each worker counts its own), but they hold, and no request fails for it. One
WARNING is logged per REDIS_WARNING_INTERVAL_S while it lasts, one INFO when Redis answers
again; neither names the URL's user or password.
"""

import enum
import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

if TYPE_CHECKING:
    from redis.asyncio import BlockingConnectionPool

from phresh import metrics
from phresh.auth.exceptions import LoginRateLimited, RateLimited
from phresh.config import Settings

logger = logging.getLogger(__name__)

DEFAULT_NAMESPACE = "phresh"
# Each Redis call waits at most this for a pooled connection, for a new one to connect and
# for an answer, and is tried twice: a Redis that stops answering delays the requests then
# under way by a second or so; later ones go straight to the counts in process.
REDIS_TIMEOUT_S = 0.5
REDIS_MAX_CONNECTIONS = 50
REDIS_RECHECK_S = 5.0
REDIS_WARNING_INTERVAL_S = 60.0
# An account key is this many hex digits of the SHA-256 of the lower-cased account: any login
# name or email, whatever its length, takes the same few bytes in Redis, and none is stored
# in clear there.
ACCOUNT_DIGEST_HEX = 32
# The longest client address kept as given (an IPv6 address is at most 45 characters); a
# longer or non-address value (a proxy's placeholder) is hashed as an account is.
MAX_PLAIN_ADDRESS = 45
# An IPv6 client usually holds a whole /64 (SLAAC, one per subscriber line): it is counted as
# one address, or it could step through 2**64 of them.
IPV6_PREFIX = 64


class Action(enum.StrEnum):
    login = "login"
    register = "register"
    forgot_password = "forgot_password"  # noqa: S105 - an action's name
    verify_resend = "verify_resend"


class Scope(enum.StrEnum):
    address = "address"
    account = "account"


# What each action counts, and what its account is, for the messages of a refusal.
ATTEMPTS = {
    Action.login: ("login attempts", "account"),
    Action.register: ("registration attempts", "email"),
    Action.forgot_password: ("password reset requests", "email"),
    Action.verify_resend: ("verification email requests", "account"),
}

Rules = Mapping[tuple[Action, Scope], Sequence[RateLimitItem]]
# What a failing Redis raises, besides redis-py's RedisError (added once redis-py is loaded:
# it is imported only when PHRESH_REDIS_URL is set, and costs a server 21 MB otherwise).
STORAGE_FAILURES: tuple[type[Exception], ...] = (StorageError, OSError)


def rules_from_settings(settings: Settings) -> dict[tuple[Action, Scope], list[RateLimitItem]]:
    configured = {
        (Action.login, Scope.address): settings.rate_limit_login_per_address,
        (Action.login, Scope.account): settings.rate_limit_login_per_account,
        (Action.register, Scope.address): settings.rate_limit_register_per_address,
        (Action.register, Scope.account): settings.rate_limit_register_per_account,
        (Action.forgot_password, Scope.address): settings.rate_limit_forgot_password_per_address,
        (Action.forgot_password, Scope.account): settings.rate_limit_forgot_password_per_account,
        (Action.verify_resend, Scope.address): settings.rate_limit_verify_resend_per_address,
        (Action.verify_resend, Scope.account): settings.rate_limit_verify_resend_per_account,
    }
    return {key: parse_many(value) for key, value in configured.items()}


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:ACCOUNT_DIGEST_HEX]


def account_key(account: str) -> str:
    """The key of an account: case-insensitive as logins are (users.repository lower-cases)."""
    return _digest(account.lower())


def address_key(address: str) -> str:
    """The key of a client address: an IPv4 address as such, an IPv6 one as its /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return (
            address if address.isalnum() and len(address) <= MAX_PLAIN_ADDRESS else _digest(address)
        )
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        network = int(ip) >> (128 - IPV6_PREFIX) << (128 - IPV6_PREFIX)
        return f"{ipaddress.IPv6Address(network)}/{IPV6_PREFIX}"
    return str(ip)


def redacted_redis_url(url: str) -> str:
    """The URL without user, password or query (a unix:// URL may carry ?password=)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    try:
        port = str(parts.port or 6379)
    except ValueError:
        port = "?"
    return f"{parts.scheme}://{parts.hostname or 'localhost'}:{port}{parts.path}"


def limits_storage_uri(url: str) -> str:
    """The ``limits`` library's async URI for a redis://, rediss:// or unix:// URL."""
    scheme, _, rest = url.partition("://")
    if scheme == "unix":
        return f"async+redis+unix://{rest}"
    return f"async+{scheme}://{rest}"


def _keys(address: str, account: str | None) -> list[tuple["Scope", str]]:
    keys = [(Scope.address, address_key(address))]
    if account is not None:
        keys.append((Scope.account, account_key(account)))
    return keys


@dataclass(frozen=True)
class Refusal:
    scope: Scope
    retry_after: int


class RateLimits:
    def __init__(
        self,
        rules: Rules,
        *,
        redis_url: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
        recheck_after_s: float = REDIS_RECHECK_S,
    ) -> None:
        """``namespace`` starts every key (``<namespace>:LIMITER/<action>/<scope>/<value>/...``
        in Redis); instances with the same namespace and Redis share their counts."""
        self.rules = rules
        self.namespace = namespace
        self.recheck_after_s = recheck_after_s
        self._memory = MovingWindowRateLimiter(MemoryStorage())
        self._redis: MovingWindowRateLimiter | None = None
        self._pool: BlockingConnectionPool | None = None
        self._redis_failures = STORAGE_FAILURES
        self._redis_where = ""
        self._redis_secrets: tuple[str, ...] = ()
        self._redis_paused_until = 0.0
        self._redis_failing = False
        self._last_warning = -math.inf
        self._failures_unreported = 0
        if redis_url is not None:
            self._connect(redis_url)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, namespace: str = DEFAULT_NAMESPACE
    ) -> "RateLimits":
        redis_url = settings.redis_url.get_secret_value() if settings.redis_url else None
        if redis_url is None and settings.environment == "production":
            # Each process would count alone: N processes let N times the limit through.
            logger.warning(
                "rate limits are counted in this process only: with several processes or "
                "machines, set PHRESH_REDIS_URL so that they count together"
            )
        return cls(rules_from_settings(settings), redis_url=redis_url, namespace=namespace)

    @property
    def uses_redis(self) -> bool:
        return self._redis is not None

    def _connect(self, url: str) -> None:
        from redis.asyncio import BlockingConnectionPool
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
        from redis.exceptions import RedisError

        self._redis_failures = (RedisError, *STORAGE_FAILURES)
        self._redis_where = redacted_redis_url(url)
        parts = urlsplit(url)
        passwords = [parts.password or "", *parse_qs(parts.query).get("password", [])]
        # As given and percent-decoded: redis-py decodes the URL before it uses it.
        self._redis_secrets = tuple({form for p in passwords if p for form in (p, unquote(p))})
        try:
            # A call is tried again once, at once, on a new connection: one that Redis closed
            # (a restart) is replaced within the call. (A pool's connections retry nothing by
            # default.)
            self._pool = BlockingConnectionPool.from_url(
                url,
                max_connections=REDIS_MAX_CONNECTIONS,
                timeout=REDIS_TIMEOUT_S,
                socket_timeout=REDIS_TIMEOUT_S,
                socket_connect_timeout=REDIS_TIMEOUT_S,
                retry=Retry(NoBackoff(), 1),
                # Names this pool's connections in Redis's CLIENT LIST.
                client_name=f"{self.namespace}-ratelimit",
            )
        except ValueError:
            # redis-py's message may quote parts of the URL.
            msg = f"PHRESH_REDIS_URL is not a Redis URL it can use ({self._redis_where})"
            raise ValueError(msg) from None
        storage = RedisStorage(
            limits_storage_uri(url),
            implementation="redispy",
            key_prefix=self.namespace,
            # Documented by limits (its client is built on this pool), though its options are
            # typed as scalars.
            connection_pool=self._pool,  # type: ignore[arg-type]
        )
        self._redis = MovingWindowRateLimiter(storage)

    async def hit_login(self, *, address: str, account: str | None) -> None:
        """Count one login attempt (or password change) against its client address and login
        name; LoginRateLimited when either is over its limits (see ``hit``)."""
        refusal = await self._check(Action.login, _keys(address, account))
        if refusal is not None:
            metrics.rate_limited(Action.login, refusal.scope)
            detail, headers = self._refusal(Action.login, refusal)
            raise LoginRateLimited(detail, headers=headers)

    async def hit(self, action: Action, *, address: str, account: str | None) -> None:
        """Count one attempt of ``action`` (not a login: ``hit_login``) against its client
        address and account.

        Raises RateLimited when either is over its limits, with the seconds until the attempt
        would be accepted in ``Retry-After``. The address is counted first: an attempt refused
        for its address does not count against the account (an attacker's refused guesses do
        not lock the account further).
        """
        refusal = await self._check(action, _keys(address, account))
        if refusal is not None:
            metrics.rate_limited(action, refusal.scope)
            detail, headers = self._refusal(action, refusal)
            raise RateLimited(detail, headers=headers)

    async def _check(self, action: Action, keys: list[tuple[Scope, str]]) -> Refusal | None:
        if self._redis is not None and time.monotonic() >= self._redis_paused_until:
            try:
                refusal = await self._count(self._redis, action, keys)
            except self._redis_failures as exc:
                self._redis_failed(exc)
            else:
                self._redis_answered()
                return refusal
        return await self._count(self._memory, action, keys)

    async def _count(
        self, limiter: MovingWindowRateLimiter, action: Action, keys: list[tuple[Scope, str]]
    ) -> Refusal | None:
        for scope, value in keys:
            for item in self.rules[action, scope]:
                if not await limiter.hit(item, action, scope, value):
                    retry_after = await self._retry_after(limiter, action, keys)
                    return Refusal(scope, retry_after)
        return None

    async def _retry_after(
        self, limiter: MovingWindowRateLimiter, action: Action, keys: list[tuple[Scope, str]]
    ) -> int:
        """Whole seconds until every limit of these keys that is full has room again."""
        now = time.time()
        wait = 1.0
        for scope, value in keys:
            for item in self.rules[action, scope]:
                stats = await limiter.get_window_stats(item, action, scope, value)
                if stats.remaining <= 0:
                    wait = max(wait, stats.reset_time - now)
        return math.ceil(wait)

    @staticmethod
    def _refusal(action: Action, refusal: Refusal) -> tuple[str, dict[str, str]]:
        """The detail and headers of the 429 for ``refusal``."""
        attempts, account = ATTEMPTS[action]
        source = "from this address" if refusal.scope is Scope.address else f"for this {account}"
        detail = f"Too many {attempts} {source}; try again in {refusal.retry_after} seconds."
        return detail, {"Retry-After": str(refusal.retry_after)}

    def _redis_failed(self, exc: Exception) -> None:
        now = time.monotonic()
        self._redis_paused_until = now + self.recheck_after_s
        self._redis_failing = True
        self._failures_unreported += 1
        if now - self._last_warning < REDIS_WARNING_INTERVAL_S:
            return
        logger.warning(
            "rate limits: Redis at %s failed (%s); counting in this process, trying Redis "
            "again after %.0f s; %d failure(s) since the last such warning",
            self._redis_where,
            self._describe(exc),
            self.recheck_after_s,
            self._failures_unreported,
        )
        self._last_warning = now
        self._failures_unreported = 0

    def _redis_answered(self) -> None:
        if self._redis_failing:
            self._redis_failing = False
            self._failures_unreported = 0
            logger.info("rate limits: Redis at %s answers again", self._redis_where)

    def _describe(self, exc: Exception) -> str:
        text = f"{type(exc).__name__}: {exc}"
        for secret in self._redis_secrets:
            text = text.replace(secret, "***")
        return text[:300]

    async def close(self) -> None:
        # The counts in process go with this object. (Not MemoryStorage.reset(): it races
        # the storage's own expiry task, which then fails with a KeyError.)
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None
            self._redis = None
