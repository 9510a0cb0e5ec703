"""Registration, resend, forgot and reset, end to end through a real SMTP server (aiosmtpd):
each delivers a mail whose link's token works exactly once."""

import httpx
import pytest

from phresh.config import Settings
from phresh.db import Connection
from phresh.mail.transport import SmtpTransport
from phresh.mail.worker import deliver
from phresh.models import MailStatus
from tests.fixtures.factories import DEFAULT_PASSWORD, auth_headers, create_user
from tests.fixtures.smtp import SmtpServer, link_token, smtp_settings


@pytest.fixture
def mail_settings(database_url: str, smtp_server: SmtpServer) -> Settings:
    return smtp_settings(database_url, smtp_server.port)


async def deliver_queued(connection: Connection, settings: Settings) -> list[MailStatus | None]:
    """What the worker does with each queued mail, on the test's connection."""
    ids = await connection.fetch("SELECT id FROM mail WHERE status = 'pending' ORDER BY id")
    transport = SmtpTransport(settings)
    return [
        (await deliver(connection, row["id"], settings=settings, transport=transport)).status
        for row in ids
    ]


async def test_registration_mails_a_link_that_verifies_the_address_once(
    client: httpx.AsyncClient,
    connection: Connection,
    mail_settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    registered = await client.post(
        "/users",
        json={"username": "newbie", "email": "newbie@example.com", "password": "long enough pw"},
    )
    assert registered.status_code == 201

    assert await deliver_queued(connection, mail_settings) == [MailStatus.sent]

    [message] = smtp_server.messages
    assert message["To"] == "newbie@example.com"
    token = link_token(message, "verify-email")
    first = await client.post("/auth/verify-email", json={"token": token})
    second = await client.post("/auth/verify-email", json={"token": token})
    assert (first.status_code, second.status_code) == (204, 400)
    me = await client.get(
        "/users/me", headers={"Authorization": f"Bearer {registered.json()['access_token']}"}
    )
    assert me.json()["email_verified"] is True


async def test_resend_mails_a_new_link_that_works_once(
    client: httpx.AsyncClient,
    connection: Connection,
    settings: Settings,
    mail_settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    user = await create_user(connection, username="ada")

    resent = await client.post("/auth/verify-email/resend", headers=auth_headers(settings, user))
    assert resent.status_code == 202
    assert await deliver_queued(connection, mail_settings) == [MailStatus.sent]

    token = link_token(smtp_server.messages[0], "verify-email")
    first = await client.post("/auth/verify-email", json={"token": token})
    second = await client.post("/auth/verify-email", json={"token": token})
    assert (first.status_code, second.status_code) == (204, 400)


async def test_forgot_password_mails_a_reset_link_that_works_once(
    client: httpx.AsyncClient,
    connection: Connection,
    mail_settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    await create_user(connection, username="ada", email="ada@example.com")

    asked = await client.post("/auth/forgot-password", json={"email": "ada@example.com"})
    assert asked.status_code == 202
    assert await deliver_queued(connection, mail_settings) == [MailStatus.sent]

    [message] = smtp_server.messages
    assert message["To"] == "ada@example.com"
    token = link_token(message, "reset-password")
    first = await client.post(
        "/auth/reset-password", json={"token": token, "new_password": "my new password"}
    )
    second = await client.post(
        "/auth/reset-password", json={"token": token, "new_password": "yet another one"}
    )
    assert (first.status_code, second.status_code) == (204, 400)
    old = await client.post("/auth/token", data={"username": "ada", "password": DEFAULT_PASSWORD})
    new = await client.post("/auth/token", data={"username": "ada", "password": "my new password"})
    assert (old.status_code, new.status_code) == (401, 200)


async def test_forgot_password_for_an_unknown_address_sends_nothing(
    client: httpx.AsyncClient,
    connection: Connection,
    mail_settings: Settings,
    smtp_server: SmtpServer,
) -> None:
    asked = await client.post("/auth/forgot-password", json={"email": "nobody@example.com"})

    assert asked.status_code == 202
    assert await deliver_queued(connection, mail_settings) == [MailStatus.skipped]
    assert smtp_server.messages == []
