"""The mail worker: pgqueuer jobs deliver the outbox's mails.

Each mail has one pgqueuer job (entrypoint ``deliver_mail``), queued in the transaction that
wrote the mail. A QueueManager on a connection of its own listens for new jobs and takes
them (``FOR UPDATE SKIP LOCKED``: one worker per job), beating a heartbeat while it works;
a job whose worker stopped beating for ``worker_heartbeat_s`` (killed, frozen) is taken
again by another. Each job runs ``deliver`` on a pooled connection, which locks the mail's
row: of two workers on one mail, one sends it and the other finds nothing to do.
"""

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import TYPE_CHECKING
from urllib.parse import urlencode

import asyncpg
from pgqueuer import AsyncpgDriver, Job, Queries, QueueManager, RetryRequested
from pgqueuer.types import QueueExecutionMode

from phresh import metrics
from phresh.auth import repository as auth_repository
from phresh.auth import service as auth_service
from phresh.auth.service import Clock, utc_now
from phresh.config import Settings
from phresh.db import Connection, Database, direct_server_settings, in_transaction
from phresh.events import repository as event_repository
from phresh.mail import repository
from phresh.mail.messages import compose
from phresh.mail.repository import DELIVER_MAIL, PRUNE
from phresh.mail.transport import (
    MAX_ERROR_LENGTH,
    DeliveryError,
    FileTransport,
    Transport,
    transport_for,
)
from phresh.models import Mail, MailKind, MailStatus, TokenPurpose
from phresh.users import service as user_service

if TYPE_CHECKING:
    WorkerConnection = asyncpg.Connection[asyncpg.Record]
else:
    WorkerConnection = asyncpg.Connection

logger = logging.getLogger("phresh.mail")

# What the database raises while it restarts, fails over, is unreachable or overloaded: the
# job is tried again later (the mail stays pending), however many times it takes.
DATABASE_UNAVAILABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.OperatorInterventionError,
    asyncpg.InsufficientResourcesError,
    asyncpg.TransactionRollbackError,
    asyncpg.LockNotAvailableError,
    asyncpg.IdleInTransactionSessionTimeoutError,
)
# How long a worker whose QueueManager failed (its connection lost) waits before starting
# another: 1 s, doubling up to this.
MAX_RESTART_DELAY_S = 30.0

# Where each kind of mail's link leads, and what its token is for.
LINKS = {
    MailKind.verify_email: ("verify-email", TokenPurpose.verify_email),
    MailKind.reset_password: ("reset-password", TokenPurpose.reset_password),
}


@dataclass(frozen=True, slots=True)
class Delivery:
    """What ``deliver`` did: the mail's status afterwards (None: no such mail), and when to
    try again, if it is to be."""

    status: MailStatus | None
    retry_in: timedelta | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    message: EmailMessage
    link: str


def retry_delay(settings: Settings, attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: mail_retry_base_s, doubling each
    time, at most mail_retry_max_s."""
    doubling = 2 ** min(max(attempts - 1, 0), 32)
    return timedelta(seconds=min(settings.mail_retry_base_s * doubling, settings.mail_retry_max_s))


async def prepare(
    connection: Connection, mail: Mail, settings: Settings, now: datetime
) -> Prepared | None:
    """The message for ``mail``, with a new link token; None when there is nothing to send
    any more (no such active account, an address changed or already verified)."""
    kind = MailKind(mail.kind)
    if kind is MailKind.verify_email:
        user = None
        if mail.user_id is not None:
            user = await user_service.get_active_user(connection, mail.user_id)
        if user is None or user.email != mail.recipient or user.email_verified:
            return None
    else:
        # The request did not look the account up (an unknown address cost it the same as a
        # known one): that is done here.
        user = await user_service.get_user_by_login(connection, mail.recipient)
        if user is None or not user.is_active or user.email != mail.recipient.lower():
            return None
    path, purpose = LINKS[kind]
    token = await auth_service.issue_account_token(connection, user.id, purpose, user.email, now)
    link = f"{settings.link_base()}/{path}?{urlencode({'token': token})}"
    message = compose(
        settings,
        kind=kind,
        mail_id=mail.id,
        recipient=user.email,
        username=user.username,
        link=link,
        valid_for=auth_service.ACCOUNT_TOKEN_LIFETIME[purpose],
        now=now,
    )
    return Prepared(message, link)


async def deliver(
    connection: Connection,
    mail_id: int,
    *,
    settings: Settings,
    transport: Transport,
    clock: Clock = utc_now,
) -> Delivery:
    """Send the mail ``mail_id`` if it is pending, in one transaction that holds its row.

    The token of its link is made here and stored (as a digest) in a savepoint with the
    sending: a mail that could not be sent leaves no token behind. A failed attempt is
    counted with its error; after ``mail_max_attempts`` the mail is given up (failed).
    """
    async with in_transaction(connection):
        mail = await repository.lock_pending_mail(connection, mail_id)
        if mail is None:
            status = await repository.get_mail_status(connection, mail_id)
            if status is MailStatus.pending:
                # Another worker is sending it. This job stays queued until that attempt
                # ends, so that a failure of it is still tried again.
                return Delivery(status, retry_in=retry_delay(settings, 1))
            return Delivery(status)
        try:
            async with in_transaction(connection):
                prepared = await prepare(connection, mail, settings, clock())
                if prepared is not None:
                    await transport.send(prepared.message)
        except DeliveryError as exc:
            return await _record_failure(connection, mail, str(exc), settings)
        if prepared is None:
            await repository.mark_skipped(connection, mail.id)
            return Delivery(MailStatus.skipped)
        await repository.mark_sent(connection, mail.id, clock())
    logger.info("mail %d (%s) sent", mail.id, mail.kind)
    if isinstance(transport, FileTransport):
        # No mail leaves this machine: the link is shown where the developer looks.
        logger.info("link in the mail to %s: %s", mail.recipient, prepared.link)
    return Delivery(MailStatus.sent)


async def _record_failure(
    connection: Connection, mail: Mail, error: str, settings: Settings
) -> Delivery:
    error = error[:MAX_ERROR_LENGTH]
    attempts = mail.attempts + 1
    if attempts >= settings.mail_max_attempts:
        await repository.record_failure(connection, mail.id, error, MailStatus.failed)
        metrics.mail_failed("given_up")
        logger.error("mail %d given up after %d attempts: %s", mail.id, attempts, error)
        return Delivery(MailStatus.failed, error=error)
    await repository.record_failure(connection, mail.id, error, MailStatus.pending)
    metrics.mail_failed("retrying")
    delay = retry_delay(settings, attempts)
    logger.warning(
        "mail %d, attempt %d failed (trying again in %g s): %s",
        mail.id,
        attempts,
        delay.total_seconds(),
        error,
    )
    return Delivery(MailStatus.pending, retry_in=delay, error=error)


def create_queue_manager(
    connection: WorkerConnection,
    database: Database,
    settings: Settings,
    transport: Transport,
    clock: Clock = utc_now,
    *,
    prunes: bool = False,
) -> QueueManager:
    """A QueueManager taking ``deliver_mail`` jobs through ``connection`` (its own: it
    LISTENs on it) and delivering each on a connection of ``database``'s pool; with
    ``prunes``, the hourly ``prune`` jobs too (a worker that drains the queue takes none:
    the next hour's job would keep its queue from ever being empty)."""
    manager = QueueManager(Queries(AsyncpgDriver(connection)))

    if prunes:

        @manager.entrypoint(PRUNE)
        async def prune_expired(job: Job) -> None:
            async with database.acquire() as connection:
                deleted = await prune(connection, clock())
            logger.info("pruned %d expired or ended rows", deleted)

    # "hold": a job that failed with an unexpected error (a bug) stays in pgqueuer's table,
    # to be queued again once fixed; its mail stays pending.
    @manager.entrypoint(DELIVER_MAIL, on_failure="hold")
    async def deliver_mail(job: Job) -> None:
        mail_id = int((job.payload or b"").decode("ascii"))
        try:
            async with database.acquire() as connection:
                delivery = await deliver(
                    connection, mail_id, settings=settings, transport=transport, clock=clock
                )
        except DATABASE_UNAVAILABLE as exc:
            delay = retry_delay(settings, job.attempts + 1)
            logger.warning(
                "mail %d not delivered, the database is unavailable (%s); trying again in %g s",
                mail_id,
                type(exc).__name__,
                delay.total_seconds(),
            )
            raise RetryRequested(delay=delay, reason=type(exc).__name__) from None
        if delivery.retry_in is not None:
            raise RetryRequested(delay=delivery.retry_in, reason=delivery.error)

    return manager


# Ended sessions, dealt-with mails and live events stay this long (for their owner's and an
# operator's eyes, and for a stream that reconnects), then go; expired tokens go at once.
# Pruned once an hour.
KEEP_ENDED = timedelta(days=30)
PRUNE_EVERY = timedelta(hours=1)


def next_prune(now: datetime) -> datetime:
    return now.replace(minute=0, second=0, microsecond=0) + PRUNE_EVERY


async def prune(connection: Connection, now: datetime) -> int:
    """Delete what no request can use any more (expired tokens; sessions and mails ended,
    events created, KEEP_ENDED ago) and queue the next hour's prune, in one transaction; how
    many rows went."""
    async with in_transaction(connection):
        deleted = await auth_repository.prune(connection, now=now, ended_before=now - KEEP_ENDED)
        deleted += await repository.prune_mail(connection, now - KEEP_ENDED)
        deleted += await event_repository.prune_events(connection, now - KEEP_ENDED)
        await repository.enqueue_prune(connection, at=next_prune(now), now=now)
    return deleted


async def connect(settings: Settings) -> WorkerConnection:
    """The worker's own connection (not the pool's: it stays in LISTEN)."""
    return await asyncpg.connect(
        settings.libpq_listen_url(),
        timeout=settings.db_connect_timeout_s,
        server_settings=direct_server_settings(settings)
        | {"application_name": "phresh-mail-worker"},
    )


async def close(connection: WorkerConnection) -> None:
    try:
        await connection.close(timeout=5)
    except Exception:  # noqa: BLE001 - a connection that cannot close politely is cut
        connection.terminate()


async def run_queue_manager(
    manager: QueueManager, settings: Settings, mode: QueueExecutionMode
) -> None:
    heartbeat = timedelta(seconds=settings.worker_heartbeat_s)
    await manager.run(
        # pgqueuer's NOTIFY wakes the worker for a new job, not for a job queued again (a
        # retry) nor for one whose worker stopped beating: it also looks that often, so
        # that neither waits much longer than it should.
        dequeue_timeout=min(heartbeat, timedelta(seconds=settings.mail_retry_base_s)),
        mode=mode,
        heartbeat_timeout=heartbeat,
    )


class RunningWorker:
    """A worker delivering mail in the background of this event loop until ``stop``.

    When its QueueManager fails (the database went away), another is started on a new
    connection after a pause; jobs it had taken are taken again once their heartbeat is
    stale.
    """

    def __init__(
        self,
        settings: Settings,
        database: Database,
        transport: Transport,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        self.database = database
        self.transport = transport
        self.clock = clock
        self._stopping = asyncio.Event()
        self._manager: QueueManager | None = None
        self._task = asyncio.create_task(self._run(), name="phresh mail worker")

    async def stop(self) -> None:
        """Finish the deliveries under way, take no new job, and return once stopped."""
        self._stopping.set()
        if self._manager is not None:
            self._manager.shutdown.set()
        else:
            # Connecting or pausing: nothing is being delivered.
            self._task.cancel()
        with suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        failures = 0
        while not self._stopping.is_set():
            try:
                await self._run_once()
                failures = 0
            except Exception as exc:  # noqa: BLE001 - logged, then started again
                failures += 1
                delay = min(2.0 ** (failures - 1), MAX_RESTART_DELAY_S)
                reason = str(exc).splitlines()[0] if str(exc) else ""
                logger.warning(
                    "mail worker stopped (%s%s); starting again in %g s",
                    type(exc).__name__,
                    f": {reason}" if reason else "",
                    delay,
                )
                with suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), delay)

    async def _run_once(self) -> None:
        connection = await connect(self.settings)
        try:
            manager = create_queue_manager(
                connection, self.database, self.settings, self.transport, self.clock, prunes=True
            )
            # A prune now, unless one of this hour is queued already (another worker's).
            now = self.clock()
            async with self.database.acquire() as pooled:
                await repository.enqueue_prune(pooled, at=now, now=now)
            self._manager = manager
            if self._stopping.is_set():
                manager.shutdown.set()
            await run_queue_manager(manager, self.settings, QueueExecutionMode.continuous)
        finally:
            self._manager = None
            await close(connection)


async def start_worker(
    settings: Settings,
    database: Database,
    *,
    transport: Transport | None = None,
    clock: Clock = utc_now,
) -> RunningWorker:
    """Deliver mail in the background of the running event loop until ``await
    worker.stop()``.

    It returns at once and never fails to start: while the database is unreachable, the
    worker tries again, and says so in the log.
    """
    return RunningWorker(settings, database, transport or transport_for(settings), clock)


async def drain(
    settings: Settings,
    database: Database,
    *,
    transport: Transport | None = None,
    clock: Clock = utc_now,
) -> None:
    """Deliver every queued mail, retries included, then return."""
    connection = await connect(settings)
    try:
        manager = create_queue_manager(
            connection, database, settings, transport or transport_for(settings), clock
        )
        await run_queue_manager(manager, settings, QueueExecutionMode.drain)
    finally:
        await close(connection)
