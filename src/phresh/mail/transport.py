"""How a message leaves: over SMTP, or as an .eml file when no SMTP host is set."""

import asyncio
import logging
import os
import re
import ssl
import tempfile
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import aiosmtplib

from phresh.config import Settings

logger = logging.getLogger("phresh.mail")

MAX_ERROR_LENGTH = 500


class DeliveryError(Exception):
    """A message could not be handed over; the message says why, and is safe to store and to
    log (it never holds the SMTP password)."""


class Transport(Protocol):
    async def send(self, message: EmailMessage) -> None:
        """Hand ``message`` over, or raise DeliveryError."""


class SmtpTransport:
    """Each message on its own SMTP connection (mails are few; a connection kept open would
    only time out between them)."""

    def __init__(self, settings: Settings) -> None:
        assert settings.smtp_host is not None
        self.hostname = settings.smtp_host
        self.port = settings.smtp_port_or_default()
        self.security = settings.smtp_security
        self.username = settings.smtp_username
        self.password = (
            settings.smtp_password.get_secret_value() if settings.smtp_password else None
        )
        self.timeout_s = settings.smtp_timeout_s

    @property
    def server(self) -> str:
        return f"{self.hostname}:{self.port}"

    async def send(self, message: EmailMessage) -> None:
        try:
            # smtp_timeout_s bounds the whole conversation, not only each of its steps: the
            # worker holds the mail's row lock meanwhile.
            async with asyncio.timeout(self.timeout_s):
                await aiosmtplib.send(
                    message,
                    hostname=self.hostname,
                    port=self.port,
                    username=self.username,
                    password=self.password,
                    use_tls=self.security == "tls",
                    # False, not None: aiosmtplib's None upgrades whenever the server offers.
                    start_tls=self.security == "starttls",
                    timeout=self.timeout_s,
                )
        except Exception as exc:
            # An error not about delivery (a bug, say) still counts as a failed attempt, so
            # the mail is given up in the end with its error recorded, never left pending.
            reason = self.describe(exc) or f"{self.server}: unexpected {type(exc).__name__}"
            raise DeliveryError(self.safe(reason)) from exc

    def describe(self, error: Exception) -> str | None:
        """Why sending failed, in one line; None for an error that is not about delivery."""
        server = self.server
        if isinstance(error, aiosmtplib.SMTPRecipientsRefused) and error.recipients:
            first = error.recipients[0]
            return f"{server} refused the recipient: {first.code} {first.message}"
        if isinstance(error, aiosmtplib.SMTPResponseException):
            return f"{server} answered {error.code} {error.message}"
        if isinstance(error, TimeoutError):
            return f"{server} did not answer within {self.timeout_s:g} s"
        if isinstance(error, aiosmtplib.SMTPConnectError):
            cause = error.__cause__
            if isinstance(cause, OSError) and cause.strerror:
                return f"cannot connect to {server}: {cause.strerror}"
            return f"cannot connect to {server}: {error}"
        if isinstance(error, aiosmtplib.SMTPException):
            return f"SMTP with {server} failed: {error}"
        if isinstance(error, ssl.SSLError):
            return f"TLS with {server} failed: {error.reason or error}"
        if isinstance(error, OSError):
            return f"cannot connect to {server}: {error.strerror or error}"
        return None

    def safe(self, reason: str) -> str:
        reason = " ".join(reason.split())
        # The password is never part of an SMTP error; this is a second guard. A very short
        # one would mangle the text and protect nothing.
        if self.password and len(self.password) >= 4:
            reason = reason.replace(self.password, "***")
        return reason[:MAX_ERROR_LENGTH]


UNSAFE_FILE_CHARACTERS = re.compile(r"[^A-Za-z0-9._-]+")


class FileTransport:
    """Each message as ``<mail_dir>/<UTC time>-<Message-ID>.eml``: the zero-setup default,
    opened with any mail program. The file appears whole or not at all (written aside, then
    renamed)."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir

    async def send(self, message: EmailMessage) -> None:
        try:
            path = await asyncio.to_thread(self.write, message)
        except OSError as exc:
            msg = f"cannot write the mail into {self.mail_dir}: {exc.strerror or exc}"
            raise DeliveryError(msg[:MAX_ERROR_LENGTH]) from exc
        logger.info("mail to %s written to %s", message["To"], path)

    def write(self, message: EmailMessage) -> Path:
        self.mail_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        name = UNSAFE_FILE_CHARACTERS.sub("", str(message["Message-ID"]).split("@")[0])
        path = self.mail_dir / f"{stamp}-{name or 'mail'}.eml"
        descriptor, temporary = tempfile.mkstemp(dir=self.mail_dir, suffix=".tmp")
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(message.as_bytes())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return path


def transport_for(settings: Settings) -> Transport:
    """SMTP when PHRESH_SMTP_HOST is set, .eml files under PHRESH_MAIL_DIR otherwise."""
    if settings.smtp_host:
        return SmtpTransport(settings)
    return FileTransport(settings.mail_dir)
