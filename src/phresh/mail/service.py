"""Asking for a mail: what requests call. Delivery is the worker's (``phresh.mail.worker``)."""

from contextlib import AbstractAsyncContextManager, nullcontext

from phresh.db import Connection, in_transaction
from phresh.mail import repository
from phresh.models import MailKind


async def enqueue_mail(
    connection: Connection, kind: MailKind, recipient: str, user_id: int | None
) -> int:
    """Write a mail into the outbox, and the job that delivers it, in ``connection``'s
    transaction: both are committed with the caller's other writes, or neither is. Nothing
    is sent (no SMTP, no token made) before the commit; the answer is the mail's id."""
    # Outside a transaction, one of their own: never a mail without its job.
    together: AbstractAsyncContextManager[None] = (
        nullcontext() if connection.is_in_transaction() else in_transaction(connection)
    )
    async with together:
        mail_id = await repository.insert_mail(connection, kind, recipient, user_id)
        await repository.enqueue_delivery(connection, mail_id)
    return mail_id


async def read_outbox_backlog(connection: Connection) -> tuple[int, float]:
    """The mails waiting to be sent: how many, and the oldest one's wait in seconds."""
    return await repository.read_outbox_backlog(connection)
