"""All SQL about sessions, refresh tokens and one-time account tokens."""

from datetime import datetime

from phresh.db import Connection
from phresh.models import TokenPurpose

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
