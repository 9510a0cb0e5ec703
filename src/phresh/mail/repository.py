"""All SQL about the mail outbox, and the pgqueuer job that delivers each mail."""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, cast

from pgqueuer import AsyncpgDriver, Queries

from phresh.db import Connection
from phresh.kit.repository import one, select_list
from phresh.models import Mail, MailKind, MailStatus

if TYPE_CHECKING:
    import asyncpg

# The pgqueuer entrypoint that delivers a mail; a job's payload is the mail's id, in ASCII.
DELIVER_MAIL = "deliver_mail"
# The pgqueuer entrypoint that deletes what has expired, once an hour (``enqueue_prune``).
PRUNE = "prune"

MAIL_COLUMNS = select_list(Mail, "m")

INSERT_MAIL = "INSERT INTO mail (kind, recipient, user_id) VALUES ($1, $2, $3) RETURNING id"


async def insert_mail(
    connection: Connection, kind: MailKind, recipient: str, user_id: int | None
) -> int:
    mail_id: int = await connection.fetchval(INSERT_MAIL, kind.value, recipient, user_id)
    return mail_id


def _queries(connection: Connection) -> Queries:
    """pgqueuer's queries on ``connection``, in whatever transaction it is in."""
    # The pool's proxy forwards every method of asyncpg's Connection (asyncpg's own
    # isinstance(proxy, Connection) is true); asyncpg-stubs declares no such relation.
    return Queries(AsyncpgDriver(cast("asyncpg.Connection[asyncpg.Record]", connection)))


async def enqueue_delivery(connection: Connection, mail_id: int) -> None:
    """A pgqueuer job delivering the mail, in ``connection``'s transaction: it is queued, and
    the workers woken (pgqueuer's NOTIFY), only when that transaction commits."""
    await _queries(connection).enqueue(DELIVER_MAIL, str(mail_id).encode("ascii"))


async def enqueue_prune(connection: Connection, *, at: datetime, now: datetime) -> None:
    """The prune job of ``at``'s hour, due at ``at``; one per hour however many workers ask
    (its dedupe key names the hour)."""
    await _queries(connection).enqueue(
        PRUNE,
        None,
        execute_after=max(at - now, timedelta(0)),
        dedupe_key=f"{PRUNE}:{at:%Y-%m-%dT%H}",
        on_conflict="skip",
    )


PRUNE_MAIL = "DELETE FROM mail WHERE status <> 'pending' AND created_at < $1"


async def prune_mail(connection: Connection, before: datetime) -> int:
    """Delete the mails dealt with (sent, skipped, failed) before ``before``; how many."""
    return int((await connection.execute(PRUNE_MAIL, before)).split()[-1])


LOCK_PENDING_MAIL = (
    f"SELECT {MAIL_COLUMNS} FROM mail m "  # noqa: S608 - MAIL_COLUMNS is a constant
    "WHERE m.id = $1 AND m.status = 'pending' FOR UPDATE SKIP LOCKED"
)


async def lock_pending_mail(connection: Connection, mail_id: int) -> Mail | None:
    """The mail, locked until the transaction ends, if it is pending and no other transaction
    holds it; None otherwise, without waiting."""
    return one(Mail, await connection.fetchrow(LOCK_PENDING_MAIL, mail_id))


MAIL_STATUS = "SELECT status FROM mail WHERE id = $1"


async def get_mail_status(connection: Connection, mail_id: int) -> MailStatus | None:
    status: str | None = await connection.fetchval(MAIL_STATUS, mail_id)
    return None if status is None else MailStatus(status)


MARK_SENT = "UPDATE mail SET status = 'sent', attempts = attempts + 1, sent_at = $2 WHERE id = $1"


async def mark_sent(connection: Connection, mail_id: int, now: datetime) -> None:
    await connection.execute(MARK_SENT, mail_id, now)


MARK_SKIPPED = "UPDATE mail SET status = 'skipped' WHERE id = $1"


async def mark_skipped(connection: Connection, mail_id: int) -> None:
    await connection.execute(MARK_SKIPPED, mail_id)


# Both read the partial index of pending mails (ix_mail_pending_created_at) only.
OUTBOX_BACKLOG = (
    "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 "
    "FROM mail WHERE status = 'pending'"
)


async def read_outbox_backlog(connection: Connection) -> tuple[int, float]:
    """How many mails are pending, and how many seconds the oldest of them has waited."""
    row = await connection.fetchrow(OUTBOX_BACKLOG)
    assert row is not None  # an aggregate answers one row
    return int(row[0]), float(row[1])


RECORD_FAILURE = (
    "UPDATE mail SET attempts = attempts + 1, last_error = $2, status = $3 WHERE id = $1"
)


async def record_failure(
    connection: Connection, mail_id: int, error: str, status: MailStatus
) -> None:
    """Count a failed attempt and keep its error; ``status``: pending (to be tried again) or
    failed (given up)."""
    await connection.execute(RECORD_FAILURE, mail_id, error, status.value)
