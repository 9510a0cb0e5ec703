"""Tokens, logins and the login rate limit."""

import hashlib
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from phresh.auth import repository
from phresh.auth.exceptions import InvalidCredentials, InvalidToken, LoginRateLimited
from phresh.auth.schemas import Token
from phresh.config import Settings
from phresh.db import Connection
from phresh.models import TokenPurpose
from phresh.users import service as user_service

ALGORITHM = "HS256"
# How long the link of each kind of mail works.
ACCOUNT_TOKEN_LIFETIME = {
    TokenPurpose.verify_email: timedelta(hours=24),
    TokenPurpose.reset_password: timedelta(hours=1),
}

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_secret() -> tuple[str, bytes]:
    """A random token (256 bits, URL-safe) and the SHA-256 digest that is stored instead."""
    token = secrets.token_urlsafe(32)
    return token, digest(token)


def digest(token: str) -> bytes:
    # A fast hash suffices: the token is 256 random bits, nothing to guess from its digest.
    return hashlib.sha256(token.encode()).digest()


async def issue_account_token(
    connection: Connection, user_id: int, purpose: TokenPurpose, email: str, now: datetime
) -> str:
    """A single-use token for a mail's link, for ``email`` (the address it is sent to)."""
    token, token_hash = new_secret()
    await repository.insert_account_token(
        connection,
        token_hash,
        user_id=user_id,
        purpose=purpose,
        email=email,
        now=now,
        expires_at=now + ACCOUNT_TOKEN_LIFETIME[purpose],
    )
    return token
EXPIRED = "The access token is invalid or has expired; log in again."


def create_access_token(settings: Settings, user_id: int) -> Token:
    now = datetime.now(UTC)
    lifetime = timedelta(minutes=settings.jwt_expire_minutes)
    claims = {
        "sub": str(user_id),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": now + lifetime,
    }
    token = jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM)
    return Token(access_token=token, expires_in=int(lifetime.total_seconds()))


def _verify(settings: Settings, token: str) -> tuple[int, float]:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
        return int(claims["sub"]), float(claims["exp"])
    except (jwt.PyJWTError, ValueError) as exc:
        raise InvalidToken(EXPIRED) from exc


class TokenReader:
    """Verifies access tokens, keeping a small cache of tokens already verified.

    A client sends the same token on every request until it expires; checking its HMAC and
    claims again each time is a tenth of a millisecond of CPU on a sub-millisecond request.
    Only tokens that verified are cached, with their ``exp``: a cached token is refused the
    moment ``clock()`` passes it, so the cache cannot admit anything the check would refuse.
    A full cache is emptied rather than grown.
    """

    def __init__(
        self, settings: Settings, max_size: int = 4096, clock: Callable[[], float] = time.time
    ) -> None:
        self._settings = settings
        self._max_size = max_size
        self._clock = clock
        self._verified: dict[str, tuple[int, float]] = {}

    def __len__(self) -> int:
        """How many verified tokens are cached."""
        return len(self._verified)

    def user_id(self, token: str) -> int:
        """The user id a valid token was issued to; InvalidToken otherwise."""
        cached = self._verified.get(token)
        if cached is not None:
            user_id, expires_at = cached
            if self._clock() < expires_at:
                return user_id
            del self._verified[token]
            raise InvalidToken(EXPIRED)
        user_id, expires_at = _verify(self._settings, token)
        if len(self._verified) >= self._max_size:
            self._verified.clear()
        self._verified[token] = (user_id, expires_at)
        return user_id


@dataclass
class _Window:
    started: float
    attempts: int


class LoginRateLimiter:
    """Fixed-window count of login attempts per (client address, login name), in memory.

    Per process: with several workers the effective limit is workers x limit, which still
    stops online guessing; a shared store would be the next step for a large deployment.
    """

    def __init__(self, limit: int, window_s: int) -> None:
        self.limit = limit
        self.window_s = window_s
        self._windows: dict[tuple[str, str], _Window] = {}

    def hit(self, client: str, login: str) -> None:
        now = time.monotonic()
        if len(self._windows) > 10_000:
            self._forget_expired(now)
        key = (client, login.lower())
        window = self._windows.get(key)
        if window is None or now - window.started >= self.window_s:
            window = self._windows[key] = _Window(started=now, attempts=0)
        window.attempts += 1
        if window.attempts > self.limit:
            retry_after = max(1, math.ceil(self.window_s - (now - window.started)))
            raise LoginRateLimited(
                f"Too many login attempts; try again in {retry_after} seconds.",
                headers={"Retry-After": str(retry_after)},
            )

    def _forget_expired(self, now: float) -> None:
        expired = [k for k, w in self._windows.items() if now - w.started >= self.window_s]
        for key in expired:
            del self._windows[key]


async def log_in(connection: Connection, settings: Settings, login: str, password: str) -> Token:
    user = await user_service.get_user_by_login(connection, login)
    if user is None:
        await user_service.burn_password_check(password)
        raise InvalidCredentials("Incorrect username, email or password.")
    valid = await user_service.verify_password(password, user.password_hash)
    if not valid or not user.is_active:
        raise InvalidCredentials("Incorrect username, email or password.")
    return create_access_token(settings, user.id)
