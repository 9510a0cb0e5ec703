"""``deliver`` and the worker's job handler, on the test's connection (rolled back)."""

import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import cast

import asyncpg
import pytest
from pgqueuer import Job, RetryRequested
from pgqueuer.types import QueueEntrypoint

from phresh.config import Settings
from phresh.db import Connection, Pool
from phresh.mail.repository import DELIVER_MAIL
from phresh.mail.service import enqueue_mail
from phresh.mail.transport import FileTransport, SmtpTransport, Transport
from phresh.mail.worker import (
    Delivery,
    WorkerConnection,
    create_queue_manager,
    deliver,
    retry_delay,
)
from phresh.models import MailKind, MailStatus, User
from tests.fixtures.factories import create_user
from tests.fixtures.smtp import SmtpServer, free_port, link_token, smtp_settings
from tests.mail.conftest import OneConnection

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def stored_token(connection: Connection, token: str) -> asyncpg.Record | None:
    return await connection.fetchrow(
        "SELECT user_id, purpose, email, expires_at, used_at FROM account_token "
        "WHERE token_hash = $1",
        hashlib.sha256(token.encode()).digest(),
    )


async def mail_row(connection: Connection, mail_id: int) -> asyncpg.Record:
    row = await connection.fetchrow(
        "SELECT status, attempts, last_error, sent_at FROM mail WHERE id = $1", mail_id
    )
    assert row is not None
    return row


async def token_count(connection: Connection) -> int:
    count: int = await connection.fetchval("SELECT count(*) FROM account_token")
    return count


async def deliver_with(
    connection: Connection, mail_id: int, settings: Settings, transport: Transport | None = None
) -> Delivery:
    return await deliver(
        connection,
        mail_id,
        settings=settings,
        transport=transport or SmtpTransport(settings),
        clock=lambda: NOW,
    )


async def test_a_verification_mail_arrives_with_a_working_link(
    connection: Connection, mail_settings: Settings, smtp_server: SmtpServer
) -> None:
    user = await create_user(connection, username="ada", email="ada@example.com")
    mail_id = await enqueue_mail(connection, MailKind.verify_email, user.email, user.id)

    delivery = await deliver_with(connection, mail_id, mail_settings)

    assert delivery == Delivery(MailStatus.sent)
    [message] = smtp_server.messages
    assert message["To"] == "ada@example.com"
    assert message["Subject"] == "Confirm your email address for Phresh"
    token = link_token(message, "verify-email")
    stored = await stored_token(connection, token)
    assert stored is not None
    assert (stored["user_id"], stored["purpose"], stored["email"]) == (
        user.id,
        "verify_email",
        "ada@example.com",
    )
    assert stored["expires_at"] == NOW + timedelta(hours=24)
    assert stored["used_at"] is None
    row = await mail_row(connection, mail_id)
    assert (row["status"], row["attempts"], row["sent_at"]) == ("sent", 1, NOW)


async def test_a_reset_mail_goes_to_the_account_that_owns_the_address(
    connection: Connection, mail_settings: Settings, smtp_server: SmtpServer
) -> None:
    user = await create_user(connection, username="bob", email="bob@example.com")
    # As typed in the form: the account is found whatever the case.
    mail_id = await enqueue_mail(connection, MailKind.reset_password, "Bob@Example.com", None)

    delivery = await deliver_with(connection, mail_id, mail_settings)

    assert delivery == Delivery(MailStatus.sent)
    [message] = smtp_server.messages
    assert message["To"] == "bob@example.com"
    assert message["Subject"] == "Reset your Phresh password"
    stored = await stored_token(connection, link_token(message, "reset-password"))
    assert stored is not None
    assert (stored["user_id"], stored["purpose"]) == (user.id, "reset_password")
    assert stored["expires_at"] == NOW + timedelta(hours=1)


async def test_a_reset_mail_for_an_unknown_address_is_skipped(
    connection: Connection, mail_settings: Settings, smtp_server: SmtpServer
) -> None:
    mail_id = await enqueue_mail(connection, MailKind.reset_password, "nobody@example.com", None)

    delivery = await deliver_with(connection, mail_id, mail_settings)

    assert delivery == Delivery(MailStatus.skipped)
    assert smtp_server.messages == []
    assert smtp_server.data_started.is_set() is False
    assert await token_count(connection) == 0
    row = await mail_row(connection, mail_id)
    assert (row["status"], row["attempts"]) == ("skipped", 0)


async def deactivate(connection: Connection, user: User) -> None:
    await connection.execute('UPDATE "user" SET is_active = false WHERE id = $1', user.id)


async def verify(connection: Connection, user: User) -> None:
    await connection.execute('UPDATE "user" SET email_verified = true WHERE id = $1', user.id)


async def change_email(connection: Connection, user: User) -> None:
    await connection.execute("""UPDATE "user" SET email = 'new-' || email WHERE id = $1""", user.id)


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        (MailKind.verify_email, verify),
        (MailKind.verify_email, change_email),
        (MailKind.verify_email, deactivate),
        (MailKind.reset_password, deactivate),
        (MailKind.reset_password, change_email),
    ],
)
async def test_a_mail_with_nothing_left_to_do_is_skipped(
    connection: Connection,
    mail_settings: Settings,
    smtp_server: SmtpServer,
    kind: MailKind,
    change: Callable[[Connection, User], Awaitable[None]],
) -> None:
    user = await create_user(connection)
    user_id = user.id if kind is MailKind.verify_email else None
    mail_id = await enqueue_mail(connection, kind, user.email, user_id)
    await change(connection, user)

    delivery = await deliver_with(connection, mail_id, mail_settings)

    assert delivery == Delivery(MailStatus.skipped)
    assert smtp_server.messages == []
    assert await token_count(connection) == 0


async def test_without_smtp_the_mail_is_a_file_and_its_link_is_logged(
    connection: Connection,
    database_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = smtp_settings(database_url, 25, smtp_host=None, mail_dir=tmp_path / "mail")
    user = await create_user(connection, username="cyd", email="cyd@example.com")
    mail_id = await enqueue_mail(connection, MailKind.verify_email, user.email, user.id)

    with caplog.at_level(logging.INFO, logger="phresh.mail"):
        delivery = await deliver_with(
            connection, mail_id, settings, FileTransport(tmp_path / "mail")
        )

    assert delivery == Delivery(MailStatus.sent)
    [path] = (tmp_path / "mail").glob("*.eml")
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message["To"] == "cyd@example.com"
    token = link_token(message, "verify-email")
    assert await stored_token(connection, token) is not None
    link = f"https://phresh.example/verify-email?token={token}"
    assert f"link in the mail to cyd@example.com: {link}" in caplog.messages
    assert f"mail to cyd@example.com written to {path}" in caplog.messages


async def test_the_link_is_not_logged_when_the_mail_goes_over_smtp(
    connection: Connection,
    mail_settings: Settings,
    smtp_server: SmtpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = await create_user(connection)
    mail_id = await enqueue_mail(connection, MailKind.verify_email, user.email, user.id)

    with caplog.at_level(logging.DEBUG):
        await deliver_with(connection, mail_id, mail_settings)

    token = link_token(smtp_server.messages[0], "verify-email")
    # Leaving out aiosmtpd's own log ("mail.log"): the test's server logs what it receives.
    logged = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]
    assert logged
    assert not [line for line in logged if token in line]


async def refuse(server: SmtpServer, settings: Settings) -> Settings:
    # Nothing listens on the port the settings name.
    return settings.model_copy(update={"smtp_port": free_port()})


async def answer_451(server: SmtpServer, settings: Settings) -> Settings:
    server.reply = "451 4.3.0 Mailbox busy, try later"
    return settings


async def answer_554(server: SmtpServer, settings: Settings) -> Settings:
    server.reply = "554 5.7.1 Message rejected"
    return settings


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (refuse, "cannot connect to 127.0.0.1:"),
        (answer_451, "answered 451 4.3.0 Mailbox busy, try later"),
        (answer_554, "answered 554 5.7.1 Message rejected"),
    ],
)
async def test_a_failing_server_is_tried_again_with_backoff_then_given_up(
    connection: Connection,
    mail_settings: Settings,
    smtp_server: SmtpServer,
    failure: Callable[[SmtpServer, Settings], Awaitable[Settings]],
    error: str,
) -> None:
    settings = await failure(smtp_server, mail_settings)
    user = await create_user(connection)
    mail_id = await enqueue_mail(connection, MailKind.verify_email, user.email, user.id)

    deliveries = [await deliver_with(connection, mail_id, settings) for _ in range(4)]

    # mail_max_attempts = 3, mail_retry_base_s = 0.05: tried again after 0.05 s, then 0.1 s.
    assert [(d.status, d.retry_in) for d in deliveries] == [
        (MailStatus.pending, timedelta(seconds=0.05)),
        (MailStatus.pending, timedelta(seconds=0.1)),
        (MailStatus.failed, None),
        (MailStatus.failed, None),
    ]
    for delivery in deliveries[:3]:
        assert delivery.error is not None
        assert error in delivery.error
    row = await mail_row(connection, mail_id)
    assert (row["status"], row["attempts"], row["sent_at"]) == ("failed", 3, None)
    assert error in row["last_error"]
    assert smtp_server.messages == []
    # Each attempt's token went with its savepoint: no link that was never sent works.
    assert await token_count(connection) == 0


async def test_a_mail_that_failed_once_is_sent_on_a_later_attempt(
    connection: Connection, mail_settings: Settings, smtp_server: SmtpServer
) -> None:
    user = await create_user(connection)
    mail_id = await enqueue_mail(connection, MailKind.verify_email, user.email, user.id)
    smtp_server.reply = "451 4.3.0 Try later"
    await deliver_with(connection, mail_id, mail_settings)
    smtp_server.reply = None

    delivery = await deliver_with(connection, mail_id, mail_settings)

    assert delivery == Delivery(MailStatus.sent)
    row = await mail_row(connection, mail_id)
    assert (row["status"], row["attempts"]) == ("sent", 2)
    assert row["last_error"] == f"127.0.0.1:{smtp_server.port} answered 451 4.3.0 Try later"
    [message] = smtp_server.messages
    assert await stored_token(connection, link_token(message, "verify-email")) is not None
    assert await token_count(connection) == 1


async def test_a_sent_mail_is_not_sent_again(
    connection: Connection, mail_settings: Settings, smtp_server: SmtpServer
) -> None:
    user = await create_user(connection)
    mail_id = await enqueue_mail(connection, MailKind.verify_email, user.email, user.id)
    await deliver_with(connection, mail_id, mail_settings)

    again = await deliver_with(connection, mail_id, mail_settings)

    assert again == Delivery(MailStatus.sent)
    assert len(smtp_server.messages) == 1


async def test_a_mail_that_does_not_exist_is_nothing_to_do(
    connection: Connection, mail_settings: Settings
) -> None:
    assert await deliver_with(connection, -1, mail_settings) == Delivery(None)


def test_the_backoff_doubles_up_to_its_maximum(database_url: str) -> None:
    settings = smtp_settings(database_url, 25, mail_retry_base_s=5, mail_retry_max_s=900)

    delays = [retry_delay(settings, attempts).total_seconds() for attempts in (1, 2, 3, 8, 9)]

    assert delays == [5, 10, 20, 640, 900]
    assert retry_delay(settings, 10_000) == timedelta(seconds=900)


Handler = Callable[[Job], Awaitable[None]]


def job_for(mail_id: int, attempts: int = 0) -> Job:
    now = datetime.now(UTC)
    return Job.model_validate(
        {
            "id": 1,
            "priority": 0,
            "created": now,
            "updated": now,
            "heartbeat": now,
            "execute_after": now,
            "status": "picked",
            "entrypoint": DELIVER_MAIL,
            "payload": str(mail_id).encode("ascii"),
            "attempts": attempts,
            "queue_manager_id": None,
            "headers": None,
        }
    )


def job_handler(
    pool: Pool, connection: Connection, settings: Settings, database: OneConnection | None = None
) -> Handler:
    """The function the worker's QueueManager runs for each ``deliver_mail`` job."""
    manager = create_queue_manager(
        # Never used here: the handler is called directly, not through the queue.
        cast(WorkerConnection, connection),
        database or OneConnection(pool, connection),
        settings,
        SmtpTransport(settings),
        clock=lambda: NOW,
    )
    executor = manager.entrypoint_registry[QueueEntrypoint(DELIVER_MAIL)]
    return cast(Handler, executor.parameters.func)


async def test_the_job_asks_pgqueuer_to_retry_with_the_backoff(
    pool: Pool, connection: Connection, mail_settings: Settings, smtp_server: SmtpServer
) -> None:
    user = await create_user(connection)
    mail_id = await enqueue_mail(connection, MailKind.verify_email, user.email, user.id)
    smtp_server.reply = "451 4.3.0 Try later"
    handler = job_handler(pool, connection, mail_settings)

    with pytest.raises(RetryRequested) as first:
        await handler(job_for(mail_id))
    with pytest.raises(RetryRequested) as second:
        await handler(job_for(mail_id, attempts=1))
    await handler(job_for(mail_id, attempts=2))

    assert first.value.delay == timedelta(seconds=0.05)
    assert second.value.delay == timedelta(seconds=0.1)
    assert first.value.reason is not None
    assert "451 4.3.0 Try later" in first.value.reason
    row = await mail_row(connection, mail_id)
    assert (row["status"], row["attempts"]) == ("failed", 3)


async def test_the_job_succeeds_once_the_mail_is_sent(
    pool: Pool, connection: Connection, mail_settings: Settings, smtp_server: SmtpServer
) -> None:
    user = await create_user(connection)
    mail_id = await enqueue_mail(connection, MailKind.verify_email, user.email, user.id)

    await job_handler(pool, connection, mail_settings)(job_for(mail_id))

    assert len(smtp_server.messages) == 1


class Unreachable(OneConnection):
    """A database that has gone away: no connection comes out of it."""

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Connection]:
        raise asyncpg.ConnectionDoesNotExistError("the connection to the database was lost")
        yield self.connection


async def test_the_job_is_tried_again_while_the_database_is_unavailable(
    pool: Pool,
    connection: Connection,
    mail_settings: Settings,
    smtp_server: SmtpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    handler = job_handler(pool, connection, mail_settings, database=Unreachable(pool, connection))

    with pytest.raises(RetryRequested) as retry:
        await handler(job_for(5, attempts=3))

    # The job's own count of attempts sets the backoff: the mail's row was not reached.
    assert retry.value.delay == timedelta(seconds=0.4)
    assert "the database is unavailable (ConnectionDoesNotExistError)" in caplog.text
    assert smtp_server.messages == []
