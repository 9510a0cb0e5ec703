import logging
import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib
import pytest

from phresh.config import Settings
from phresh.mail.messages import compose
from phresh.mail.transport import (
    DeliveryError,
    FileTransport,
    SmtpTransport,
    transport_for,
)
from phresh.models import MailKind
from tests.fixtures.smtp import SmtpServer, free_port, smtp_settings

PASSWORD = "smtp-password-never-shown"


def a_message(settings: Settings) -> EmailMessage:
    return compose(
        settings,
        kind=MailKind.verify_email,
        mail_id=7,
        recipient="ada@example.com",
        username="ada",
        link="https://phresh.example/verify-email?token=abc",
        valid_for=timedelta(hours=24),
        now=datetime.now(UTC),
    )


async def test_smtp_delivers_the_message(mail_settings: Settings, smtp_server: SmtpServer) -> None:
    message = a_message(mail_settings)

    await SmtpTransport(mail_settings).send(message)

    [received] = smtp_server.messages
    assert received["Message-ID"] == message["Message-ID"]
    assert received["To"] == "ada@example.com"


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("451 4.3.0 Try again later", "answered 451 4.3.0 Try again later"),
        ("554 5.7.1 Rejected", "answered 554 5.7.1 Rejected"),
    ],
)
async def test_an_smtp_refusal_is_a_delivery_error_saying_the_answer(
    database_url: str, smtp_server: SmtpServer, reply: str, error: str
) -> None:
    settings = smtp_settings(database_url, smtp_server.port, smtp_password=PASSWORD)
    smtp_server.reply = reply

    with pytest.raises(DeliveryError) as caught:
        await SmtpTransport(settings).send(a_message(settings))

    assert str(caught.value) == f"127.0.0.1:{smtp_server.port} {error}"
    assert smtp_server.messages == []


async def test_a_refused_connection_is_a_delivery_error(database_url: str) -> None:
    port = free_port()
    settings = smtp_settings(database_url, port)

    with pytest.raises(DeliveryError) as caught:
        await SmtpTransport(settings).send(a_message(settings))

    assert str(caught.value).startswith(f"cannot connect to 127.0.0.1:{port}: ")


async def test_a_server_that_stalls_is_given_up_after_the_timeout(
    database_url: str, smtp_server: SmtpServer
) -> None:
    settings = smtp_settings(database_url, smtp_server.port, smtp_timeout_s=0.3)
    smtp_server.stalling.set()

    with pytest.raises(DeliveryError, match=r"did not answer within 0\.3 s"):
        await SmtpTransport(settings).send(a_message(settings))


async def test_starttls_is_required_when_asked_for(
    database_url: str, smtp_server: SmtpServer
) -> None:
    # The test server offers no STARTTLS: the mail is not sent in clear text instead.
    settings = smtp_settings(database_url, smtp_server.port, smtp_security="starttls")

    with pytest.raises(DeliveryError, match="STARTTLS"):
        await SmtpTransport(settings).send(a_message(settings))

    assert smtp_server.messages == []


async def test_no_security_means_no_starttls_even_when_offered(
    database_url: str, smtp_server: SmtpServer
) -> None:
    # aiosmtplib upgrades whenever the server offers STARTTLS, unless told not to.
    settings = smtp_settings(database_url, smtp_server.port, smtp_security="none")
    smtp_server.offers_starttls = True

    await SmtpTransport(settings).send(a_message(settings))

    assert len(smtp_server.messages) == 1


async def test_tls_fails_on_a_server_that_speaks_clear_text(
    database_url: str, smtp_server: SmtpServer
) -> None:
    settings = smtp_settings(database_url, smtp_server.port, smtp_security="tls")

    with pytest.raises(DeliveryError):
        await SmtpTransport(settings).send(a_message(settings))

    assert smtp_server.messages == []


def test_the_password_never_shows_in_an_error(database_url: str) -> None:
    settings = smtp_settings(database_url, 25, smtp_password=PASSWORD)
    transport = SmtpTransport(settings)

    reason = transport.safe(f"535 authentication failed for {PASSWORD}\r\n  (really)")

    assert reason == "535 authentication failed for *** (really)"


async def test_the_file_transport_writes_a_whole_eml_file(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mail_dir = tmp_path / "var" / "mail"
    message = a_message(settings)

    with caplog.at_level(logging.INFO, logger="phresh.mail"):
        await FileTransport(mail_dir).send(message)

    [path] = mail_dir.iterdir()
    assert re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-mail-7\.[0-9a-f]{16}\.eml", path.name)
    written = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert written["Message-ID"] == message["Message-ID"]
    assert f"mail to ada@example.com written to {path}" in caplog.messages


async def test_the_file_transport_reports_a_directory_it_cannot_write(
    settings: Settings, tmp_path: Path
) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")

    with pytest.raises(DeliveryError, match="cannot write the mail into"):
        await FileTransport(blocked / "mail").send(a_message(settings))


def test_without_an_smtp_host_mails_become_files(database_url: str) -> None:
    assert isinstance(transport_for(smtp_settings(database_url, 25)), SmtpTransport)
    assert isinstance(transport_for(smtp_settings(database_url, 25, smtp_host=None)), FileTransport)


async def test_an_unexpected_error_is_a_delivery_error_too(
    mail_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted as a failed attempt, so the mail is given up in the end, never left pending."""

    async def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("a bug")

    monkeypatch.setattr(aiosmtplib, "send", broken)

    with pytest.raises(DeliveryError, match="unexpected TypeError"):
        await SmtpTransport(mail_settings).send(a_message(mail_settings))
