"""Sessions and their tokens, logins, and the one-time links of account mails."""

import hashlib
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from phresh import metrics
from phresh.auth import repository
from phresh.auth.exceptions import (
    InvalidCredentials,
    InvalidLinkToken,
    InvalidRefreshToken,
    InvalidToken,
    ReusedRefreshToken,
    SessionNotFound,
)
from phresh.auth.repository import Client
from phresh.auth.schemas import SessionRead, Token
from phresh.config import Settings
from phresh.db import Connection
from phresh.kit.pagination import CursorCodec, Page, after_time_key_of, keyset_page, time_key
from phresh.mail import service as mail_service
from phresh.models import MailKind, SessionEnd, TokenPurpose, User
from phresh.ratelimit import RateLimits
from phresh.users import service as user_service
from phresh.users.exceptions import WrongPassword

ALGORITHM = "HS256"
EXPIRED = "The access token is invalid or has expired; log in again."
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


def key_id(secret: str) -> str:
    """The ``kid`` in the header of the tokens ``secret`` signs, so that a verifier knows
    which of its keys to check them with (a rotation's current or a previous one): 16 hex
    digits of a SHA-256 of the secret under a prefix of its own, a digest nothing else
    uses. It can be public: it is no key, and a token's HMAC already tells as much about
    the secret to anyone who would guess it."""
    return hashlib.sha256(b"phresh-jwt-kid:" + secret.encode()).hexdigest()[:16]


def verification_keys(settings: Settings) -> dict[str, str]:
    """Every secret that verifies tokens (the current one and the previous ones), by kid."""
    keys: dict[str, str] = {}
    for secret in (settings.jwt_secret, *settings.jwt_previous_secret_list()):
        keys.setdefault(key_id(secret.get_secret_value()), secret.get_secret_value())
    return keys


@dataclass(frozen=True, slots=True)
class AccessToken:
    token: str
    expires_in: int


def create_access_token(
    settings: Settings,
    user_id: int,
    session_id: uuid.UUID,
    *,
    now: datetime | None = None,
    session_expires_at: datetime | None = None,
) -> AccessToken:
    """A signed token for the session's user; it never outlives its session."""
    now = now or utc_now()
    expires_at = now + timedelta(minutes=settings.jwt_expire_minutes)
    if session_expires_at is not None:
        expires_at = min(expires_at, session_expires_at)
    claims = {
        "sub": str(user_id),
        "sid": str(session_id),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "exp": expires_at,
    }
    secret = settings.jwt_secret.get_secret_value()
    token = jwt.encode(claims, secret, algorithm=ALGORITHM, headers={"kid": key_id(secret)})
    return AccessToken(token, max(0, int((expires_at - now).total_seconds())))


@dataclass(frozen=True, slots=True)
class Claims:
    user_id: int
    session_id: uuid.UUID
    expires_at: float


def _verify(settings: Settings, keys: Mapping[str, str], token: str) -> Claims:
    """The claims of a token signed with the key its kid names, one of ``keys``; a token
    without a kid, or naming a key unknown here (one retired, or not deployed here yet), is
    refused as a bad signature is. exp and iat are checked with the leeway of the
    settings (a token minted on a host whose clock is ahead has an iat in the future)."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        secret = keys.get(kid) if isinstance(kid, str) else None
        if secret is None:
            raise InvalidToken(EXPIRED)
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_s,
            options={"require": ["exp", "iss", "aud", "sub", "sid"]},
        )
        return Claims(int(claims["sub"]), uuid.UUID(claims["sid"]), float(claims["exp"]))
    except (jwt.PyJWTError, ValueError, TypeError, AttributeError) as exc:
        raise InvalidToken(EXPIRED) from exc


class TokenReader:
    """Verifies access tokens, keeping a small cache of tokens already verified.

    A client sends the same token on every request until it expires; checking its HMAC and
    claims again each time is a tenth of a millisecond of CPU on a sub-millisecond request.
    Only tokens that verified are cached, with their ``exp``: a cached token is refused the
    moment ``clock()`` passes it and the leeway, as the check itself would, so the cache
    cannot admit anything the check would refuse. (The keys are the process's, fixed at its
    start: a retired key leaves with a restart, and the cache with it.) Whether its session
    is still live is asked of the database on every request. A full cache is emptied rather
    than grown.
    """

    def __init__(
        self, settings: Settings, max_size: int = 4096, clock: Callable[[], float] = time.time
    ) -> None:
        self._settings = settings
        self._keys = verification_keys(settings)
        self._leeway = settings.jwt_leeway_s
        self._max_size = max_size
        self._clock = clock
        self._verified: dict[str, Claims] = {}

    def __len__(self) -> int:
        """How many verified tokens are cached."""
        return len(self._verified)

    def claims(self, token: str) -> Claims:
        """The user and session a valid token was issued to; InvalidToken otherwise."""
        cached = self._verified.get(token)
        if cached is not None:
            if self._clock() < cached.expires_at + self._leeway:
                return cached
            del self._verified[token]
            raise InvalidToken(EXPIRED)
        claims = _verify(self._settings, self._keys, token)
        if len(self._verified) >= self._max_size:
            self._verified.clear()
        self._verified[token] = claims
        return claims


async def get_session_user(connection: Connection, claims: Claims) -> User | None:
    """The active user of a live session; None for a revoked session or disabled account."""
    user = await repository.get_user_of_session(connection, claims.session_id, claims.user_id)
    return user if user is not None and user.is_active else None


@dataclass(frozen=True, slots=True)
class SessionTokens:
    """A session's new tokens, as answered, and the end of the refresh token among them
    (never after its session's): how long the web app's cookie may keep it."""

    token: Token
    refresh_expires_at: datetime


def _tokens(
    settings: Settings,
    user_id: int,
    session_id: uuid.UUID,
    session_expires_at: datetime,
    refresh_token: str,
    refresh_expires_at: datetime,
    now: datetime,
) -> SessionTokens:
    access = create_access_token(
        settings, user_id, session_id, now=now, session_expires_at=session_expires_at
    )
    token = Token(
        access_token=access.token, expires_in=access.expires_in, refresh_token=refresh_token
    )
    return SessionTokens(token, min(refresh_expires_at, session_expires_at))


async def start_session(
    connection: Connection, settings: Settings, user: User, client: Client, now: datetime
) -> SessionTokens:
    """A new session for ``user``: its first access and refresh tokens."""
    refresh_token, token_hash = new_secret()
    token_expires_at = now + timedelta(days=settings.refresh_token_days)
    session_id, expires_at = await repository.insert_session(
        connection,
        user_id=user.id,
        client=client,
        now=now,
        expires_at=now + timedelta(days=settings.session_max_days),
        token_hash=token_hash,
        token_expires_at=token_expires_at,
    )
    return _tokens(settings, user.id, session_id, expires_at, refresh_token, token_expires_at, now)


INVALID_CREDENTIALS = "Incorrect username, email or password."


def login_account(user_id: int) -> str:
    """The account a login attempt counts against: the account itself, whichever of its
    username or email was typed (each would otherwise have a limit of its own)."""
    return f"user:{user_id}"


async def count_login_attempt(limits: RateLimits, client: Client, account: str) -> None:
    """One guess at a password (a login, or a change that asks for the current password),
    counted per client address and per account; LoginRateLimited past either limit."""
    await limits.hit_login(address=client.counted_as, account=account)


async def log_in(
    connection: Connection,
    settings: Settings,
    limits: RateLimits,
    login: str,
    password: str,
    client: Client,
    now: datetime,
) -> SessionTokens:
    user = await user_service.get_user_by_login(connection, login)
    # An unknown name counts as itself (lower-cased by the limiter).
    await count_login_attempt(limits, client, login if user is None else login_account(user.id))
    if user is None:
        await user_service.burn_password_check(password)
        metrics.login_failed("unknown_account")
        raise InvalidCredentials(INVALID_CREDENTIALS)
    valid = await user_service.check_password(connection, user, password)
    if not valid or not user.is_active:
        metrics.login_failed("wrong_password" if not valid else "inactive")
        raise InvalidCredentials(INVALID_CREDENTIALS)
    return await start_session(connection, settings, user, client, now)


INVALID_REFRESH = "The refresh token is invalid, expired or revoked; log in again."


async def refresh_session(
    connection: Connection, settings: Settings, refresh_token: str, client: Client, now: datetime
) -> SessionTokens:
    """New access and refresh tokens for the session of ``refresh_token``, which stops
    working. A token that was already rotated away is a replay: someone else holds a copy,
    so the whole session ends (InvalidRefreshToken, its revocation committed)."""
    token_hash = digest(refresh_token)
    successor, successor_hash = new_secret()
    rotated = await repository.rotate_refresh_token(
        connection,
        token_hash,
        successor_hash=successor_hash,
        now=now,
        successor_expires_at=now + timedelta(days=settings.refresh_token_days),
        client=client,
    )
    if rotated is not None:
        return _tokens(
            settings,
            rotated.user_id,
            rotated.session_id,
            rotated.session_expires_at,
            successor,
            rotated.token_expires_at,
            now,
        )
    reused = await repository.session_of_used_token(connection, token_hash)
    if reused is not None:
        await repository.revoke_session(connection, reused, reason=SessionEnd.reuse, now=now)
        raise ReusedRefreshToken(
            "This refresh token was already used: its session has been ended; log in again."
        )
    raise InvalidRefreshToken(INVALID_REFRESH)


async def log_out(connection: Connection, session_id: uuid.UUID, now: datetime) -> None:
    await repository.revoke_session(connection, session_id, reason=SessionEnd.logout, now=now)


SESSIONS_SCOPE = "sessions"


async def list_sessions(
    connection: Connection,
    codec: CursorCodec,
    user_id: int,
    current: uuid.UUID,
    *,
    now: datetime,
    limit: int,
    cursor: str | None,
) -> Page[SessionRead]:
    """The user's live sessions, newest first, ``current`` marked."""
    sessions = await repository.list_live_sessions(
        connection,
        user_id,
        now=now,
        limit=limit + 1,
        after=after_time_key_of(codec, SESSIONS_SCOPE, cursor, uuid.UUID),
    )
    return keyset_page(
        sessions,
        limit=limit,
        codec=codec,
        scope=SESSIONS_SCOPE,
        key=lambda session: time_key(session.created_at, session.id),
        page=Page[SessionRead],
        item=lambda session: SessionRead.of(session, current=session.id == current),
    )


async def revoke_session(
    connection: Connection, user_id: int, session_id: uuid.UUID, now: datetime
) -> None:
    revoked = await repository.revoke_session(
        connection, session_id, reason=SessionEnd.revoked, now=now, user_id=user_id
    )
    if not revoked:
        raise SessionNotFound(f"You have no live session {session_id}.")


async def revoke_other_sessions(
    connection: Connection, user_id: int, current: uuid.UUID, now: datetime
) -> None:
    await repository.revoke_user_sessions(
        connection, user_id, reason=SessionEnd.revoked, now=now, keep=current
    )


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


INVALID_LINK = "This link is invalid, was used already or has expired; ask for a new one."


async def _consume(
    connection: Connection, token: str, purpose: TokenPurpose, now: datetime
) -> tuple[int, str]:
    found = await repository.consume_account_token(connection, digest(token), purpose, now)
    if found is None:
        raise InvalidLinkToken(INVALID_LINK)
    return found


async def verify_email(connection: Connection, token: str, now: datetime) -> None:
    user_id, email = await _consume(connection, token, TokenPurpose.verify_email, now)
    # The address must still be the account's: a link to an address since replaced verifies
    # nothing (and the failure rolls its use back).
    if not await user_service.mark_email_verified(connection, user_id, email):
        raise InvalidLinkToken(INVALID_LINK)


async def send_verification(connection: Connection, user: User) -> None:
    await mail_service.enqueue_mail(connection, MailKind.verify_email, user.email, user.id)


async def request_password_reset(connection: Connection, email: str) -> None:
    """Queue a reset mail for whoever owns ``email``. The account is looked up by the worker
    when it delivers: here, a known and an unknown address cost exactly the same."""
    await mail_service.enqueue_mail(connection, MailKind.reset_password, email, None)


async def reset_password(
    connection: Connection, token: str, new_password: str, now: datetime
) -> None:
    """Set a new password from a reset link; every session of the account ends. The link
    went to the account's address, so that address counts as verified from now on."""
    user_id, email = await _consume(connection, token, TokenPurpose.reset_password, now)
    if not await user_service.reset_password(connection, user_id, email, new_password):
        raise InvalidLinkToken(INVALID_LINK)
    await repository.spend_account_tokens(connection, user_id, TokenPurpose.reset_password, now)
    await repository.revoke_user_sessions(
        connection, user_id, reason=SessionEnd.password_reset, now=now
    )


async def change_password(
    connection: Connection,
    user: User,
    current_password: str,
    new_password: str,
    session_id: uuid.UUID,
    now: datetime,
) -> None:
    """A new password, given the current one; every other session ends."""
    if not await user_service.check_password(connection, user, current_password):
        raise WrongPassword("The current password is not right.")
    await user_service.set_password(connection, user.id, new_password)
    await repository.spend_account_tokens(connection, user.id, TokenPurpose.reset_password, now)
    await repository.revoke_user_sessions(
        connection, user.id, reason=SessionEnd.password_changed, now=now, keep=session_id
    )
