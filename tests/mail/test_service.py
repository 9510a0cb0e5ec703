"""``enqueue_mail``: the outbox row and its pgqueuer job, committed together or not at all."""

import pytest

from phresh.db import Pool, in_transaction
from phresh.mail import repository
from phresh.mail.service import enqueue_mail
from phresh.models import MailKind


async def outbox(pool: Pool) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    mails = await pool.fetch(
        "SELECT id, kind, recipient, user_id, status, attempts FROM mail ORDER BY id"
    )
    jobs = await pool.fetch("SELECT entrypoint, payload, status::text FROM pgqueuer ORDER BY id")
    return [tuple(row) for row in mails], [tuple(row) for row in jobs]


async def test_a_rolled_back_transaction_leaves_no_mail_and_no_job(live_outbox: Pool) -> None:
    async with live_outbox.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        await enqueue_mail(connection, MailKind.reset_password, "ada@example.com", None)
        await transaction.rollback()

    assert await outbox(live_outbox) == ([], [])


async def test_a_committed_mail_comes_with_its_delivery_job(live_outbox: Pool) -> None:
    async with live_outbox.acquire() as connection, in_transaction(connection):
        mail_id = await enqueue_mail(connection, MailKind.reset_password, "ada@example.com", None)

    assert await outbox(live_outbox) == (
        [(mail_id, "reset_password", "ada@example.com", None, "pending", 0)],
        [("deliver_mail", str(mail_id).encode("ascii"), "queued")],
    )


async def test_outside_a_transaction_the_mail_is_written_with_its_job_or_not_at_all(
    live_outbox: Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fail(*args: object) -> None:
        raise RuntimeError("the job could not be queued")

    monkeypatch.setattr(repository, "enqueue_delivery", fail)

    async with live_outbox.acquire() as connection:
        with pytest.raises(RuntimeError, match="could not be queued"):
            await enqueue_mail(connection, MailKind.reset_password, "ada@example.com", None)

    assert await outbox(live_outbox) == ([], [])
