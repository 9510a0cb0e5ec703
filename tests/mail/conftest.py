"""Settings for the test's SMTP server (tests/fixtures/smtp.py) and the outbox's committed rows."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from phresh.config import Settings
from phresh.db import Connection, Database, Pool, in_transaction
from phresh.mail.service import enqueue_mail
from phresh.models import MailKind
from tests.fixtures.factories import create_user
from tests.fixtures.smtp import SmtpServer, smtp_settings

# pgqueuer's tables, which live_pool's TRUNCATE does not reach (no foreign key to "user").
PGQUEUER_TABLES = "pgqueuer, pgqueuer_log, pgqueuer_statistics"


@pytest.fixture
def mail_settings(database_url: str, smtp_server: SmtpServer) -> Settings:
    """Settings that send to the test's SMTP server, with small retry numbers."""
    return smtp_settings(database_url, smtp_server.port)


class OneConnection(Database):
    """A Database whose every connection is the test's own (inside its rolled-back
    transaction), so the worker's handler sees the test's uncommitted rows."""

    def __init__(self, pool: Pool, connection: Connection) -> None:
        super().__init__(pool, acquire_timeout_s=5.0)
        self.connection = connection

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Connection]:
        yield self.connection


@pytest.fixture
async def live_outbox(live_pool: Pool) -> AsyncIterator[Pool]:
    """live_pool, with the outbox and pgqueuer's tables empty before and after the test
    (live_pool's own TRUNCATE empties "user" and, by cascade, mail and account_token)."""
    await live_pool.execute(f"TRUNCATE mail, {PGQUEUER_TABLES}")
    yield live_pool
    await live_pool.execute(f"TRUNCATE mail, {PGQUEUER_TABLES}")


async def committed_mail(pool: Pool, kind: MailKind = MailKind.verify_email) -> int:
    """A new user's mail (for an unknown address when a reset), committed with its job."""
    async with pool.acquire() as connection, in_transaction(connection):
        if kind is MailKind.reset_password:
            return await enqueue_mail(connection, kind, "nobody@example.com", None)
        user = await create_user(connection)
        return await enqueue_mail(connection, kind, user.email, user.id)


async def statuses(pool: Pool) -> list[tuple[str, int]]:
    rows = await pool.fetch("SELECT status, attempts FROM mail ORDER BY id")
    return [(row["status"], row["attempts"]) for row in rows]
