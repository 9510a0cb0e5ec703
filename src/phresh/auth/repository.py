"""All SQL about sessions, refresh tokens and one-time account tokens."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from phresh.db import Connection
from phresh.kit.repository import SqlBuilder, each, one, select_list
from phresh.models import Session, SessionEnd, TokenPurpose, User
from phresh.users.repository import USER_COLUMNS

SESSION_COLUMNS = select_list(Session, "s")

# The current user of an access token, in the one query every authenticated request makes:
# its session must be live, so a revoked session's access tokens stop at once.
USER_OF_SESSION = f"""
SELECT {USER_COLUMNS} FROM auth_session s JOIN "user" u ON u.id = s.user_id
WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL
"""  # noqa: S608 - USER_COLUMNS is a constant


async def get_user_of_session(
    connection: Connection, session_id: uuid.UUID, user_id: int
) -> User | None:
    return one(User, await connection.fetchrow(USER_OF_SESSION, session_id, user_id))


INSERT_SESSION = """
WITH s AS (
    INSERT INTO auth_session
        (user_id, created_at, last_used_at, expires_at, user_agent, client_address)
    VALUES ($1, $2, $2, $3, $4, $5)
    RETURNING id, expires_at
)
INSERT INTO refresh_token (token_hash, session_id, created_at, expires_at)
SELECT $6, id, $2, LEAST($7, expires_at) FROM s
RETURNING session_id, (SELECT expires_at FROM s) AS session_expires_at
"""


@dataclass(frozen=True, slots=True)
class Client:
    """Who is asking: shown in the owner's list of sessions."""

    user_agent: str | None
    address: str | None

    @property
    def counted_as(self) -> str:
        """The address rate limits count it under; one for all the server cannot see."""
        return self.address or "unknown"


async def insert_session(
    connection: Connection,
    *,
    user_id: int,
    client: Client,
    now: datetime,
    expires_at: datetime,
    token_hash: bytes,
    token_expires_at: datetime,
) -> tuple[uuid.UUID, datetime]:
    """A new session and its first refresh token: the session's id and its end."""
    record = await connection.fetchrow(
        INSERT_SESSION,
        user_id,
        now,
        expires_at,
        client.user_agent,
        client.address,
        token_hash,
        token_expires_at,
    )
    assert record is not None  # INSERT ... RETURNING always answers its row
    return record["session_id"], record["session_expires_at"]


# Rotation in one statement: the presented token is marked used only if it is the session's
# current one (unused, unexpired; the session not revoked, its user active), and its
# successor is inserted in the same breath. No token outlives its session (LEAST), so an
# unexpired token is of a session within its absolute limit. Two requests with one token:
# the row lock lets one through; the other finds the token used, which is what a replay
# looks like.
ROTATE_REFRESH_TOKEN = """
WITH claimed AS (
    UPDATE refresh_token r SET used_at = $2
    FROM auth_session s JOIN "user" u ON u.id = s.user_id
    WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2
      AND s.id = r.session_id AND s.revoked_at IS NULL AND u.is_active
    RETURNING r.session_id, s.user_id, s.expires_at
), successor AS (
    INSERT INTO refresh_token (token_hash, session_id, created_at, expires_at)
    SELECT $3, session_id, $2, LEAST($4, expires_at) FROM claimed
    RETURNING session_id, expires_at
), touched AS (
    UPDATE auth_session SET last_used_at = $2, user_agent = $5, client_address = $6
    WHERE id = (SELECT session_id FROM claimed)
)
SELECT c.session_id, c.user_id, c.expires_at AS session_expires_at,
       n.expires_at AS token_expires_at
FROM claimed c JOIN successor n USING (session_id)
"""


@dataclass(frozen=True, slots=True)
class Rotated:
    session_id: uuid.UUID
    user_id: int
    session_expires_at: datetime
    token_expires_at: datetime


async def rotate_refresh_token(
    connection: Connection,
    token_hash: bytes,
    *,
    successor_hash: bytes,
    now: datetime,
    successor_expires_at: datetime,
    client: Client,
) -> Rotated | None:
    """The session renewed with ``successor_hash``; None if ``token_hash`` is not the
    current token of a live session."""
    record = await connection.fetchrow(
        ROTATE_REFRESH_TOKEN,
        token_hash,
        now,
        successor_hash,
        successor_expires_at,
        client.user_agent,
        client.address,
    )
    return None if record is None else Rotated(*record.values())


USED_TOKEN_SESSION = (
    "SELECT session_id FROM refresh_token WHERE token_hash = $1 AND used_at IS NOT NULL"
)


async def session_of_used_token(connection: Connection, token_hash: bytes) -> uuid.UUID | None:
    """The session a token belonged to, if that token was already rotated away."""
    session_id: uuid.UUID | None = await connection.fetchval(USED_TOKEN_SESSION, token_hash)
    return session_id


REVOKE_SESSION = """
UPDATE auth_session SET revoked_at = $3, revoked_reason = $4
WHERE id = $1 AND ($2::bigint IS NULL OR user_id = $2) AND revoked_at IS NULL
RETURNING id
"""


async def revoke_session(
    connection: Connection,
    session_id: uuid.UUID,
    *,
    reason: SessionEnd,
    now: datetime,
    user_id: int | None = None,
) -> bool:
    """End one live session (of ``user_id``, when given); whether there was one to end."""
    revoked = await connection.fetchval(REVOKE_SESSION, session_id, user_id, now, reason.value)
    return revoked is not None


REVOKE_USER_SESSIONS = """
UPDATE auth_session SET revoked_at = $3, revoked_reason = $4
WHERE user_id = $1 AND revoked_at IS NULL AND ($2::uuid IS NULL OR id <> $2)
"""


async def revoke_user_sessions(
    connection: Connection,
    user_id: int,
    *,
    reason: SessionEnd,
    now: datetime,
    keep: uuid.UUID | None = None,
) -> None:
    """End every live session of the user, but ``keep``."""
    await connection.execute(REVOKE_USER_SESSIONS, user_id, keep, now, reason.value)


async def list_live_sessions(
    connection: Connection,
    user_id: int,
    *,
    now: datetime,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[Session]:
    """Newest first, keyset on (created_at, id): ix_auth_session_user_id_created_at. Live:
    not revoked, and its current refresh token unexpired (so within the absolute limit too;
    a session idle past its token's life can no longer be renewed)."""
    query = SqlBuilder(user_id, now)
    conditions = [
        "s.user_id = $1",
        "s.revoked_at IS NULL",
        "EXISTS (SELECT 1 FROM refresh_token r WHERE r.session_id = s.id "
        "AND r.used_at IS NULL AND r.expires_at > $2)",
    ]
    if after is not None:
        conditions.append(f"(s.created_at, s.id) < {query.row(*after)}")
    sql = (
        f"SELECT {SESSION_COLUMNS} FROM auth_session s "  # noqa: S608 - constants
        f"WHERE {' AND '.join(conditions)} "
        f"ORDER BY s.created_at DESC, s.id DESC LIMIT {query.param(limit)}"
    )
    return each(Session, await connection.fetch(sql, *query.params))


INSERT_ACCOUNT_TOKEN = """
INSERT INTO account_token (token_hash, user_id, purpose, email, created_at, expires_at)
VALUES ($1, $2, $3, $4, $5, $6)
"""


async def insert_account_token(
    connection: Connection,
    token_hash: bytes,
    *,
    user_id: int,
    purpose: TokenPurpose,
    email: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    await connection.execute(
        INSERT_ACCOUNT_TOKEN, token_hash, user_id, purpose.value, email, now, expires_at
    )


# Single use: the first request to mark the token used gets its row; any later one, none.
CONSUME_ACCOUNT_TOKEN = """
UPDATE account_token SET used_at = $3
WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3
RETURNING user_id, email
"""


async def consume_account_token(
    connection: Connection, token_hash: bytes, purpose: TokenPurpose, now: datetime
) -> tuple[int, str] | None:
    """The (user id, email) of a usable token, which is now used; None otherwise."""
    record = await connection.fetchrow(CONSUME_ACCOUNT_TOKEN, token_hash, purpose.value, now)
    return None if record is None else (record["user_id"], record["email"])


SPEND_ACCOUNT_TOKENS = """
UPDATE account_token SET used_at = $3
WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL
"""


async def spend_account_tokens(
    connection: Connection, user_id: int, purpose: TokenPurpose, now: datetime
) -> None:
    """Every unused token of the user for ``purpose`` stops working."""
    await connection.execute(SPEND_ACCOUNT_TOKENS, user_id, purpose.value, now)


# What no request can use any more. Tokens past their expiry are refused anyway; a session
# stays listed for the record (revoked_reason) until `kept_until` after it ended.
PRUNE_SESSIONS = """
DELETE FROM auth_session
WHERE coalesce(revoked_at, expires_at) < $1
"""
PRUNE_REFRESH_TOKENS = "DELETE FROM refresh_token WHERE expires_at < $1"
PRUNE_ACCOUNT_TOKENS = "DELETE FROM account_token WHERE expires_at < $1"


async def prune(connection: Connection, *, now: datetime, ended_before: datetime) -> int:
    """Delete expired tokens, and sessions that ended before ``ended_before`` (with their
    tokens); how many rows went."""
    deleted = 0
    for sql, moment in (
        (PRUNE_SESSIONS, ended_before),
        (PRUNE_REFRESH_TOKENS, now),
        (PRUNE_ACCOUNT_TOKENS, now),
    ):
        deleted += int((await connection.execute(sql, moment)).split()[-1])
    return deleted
