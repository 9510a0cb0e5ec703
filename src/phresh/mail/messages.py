"""Account mails as messages: plain text and HTML from the templates beside this module."""

import secrets
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from functools import lru_cache
from typing import TYPE_CHECKING

from phresh.config import Settings
from phresh.models import MailKind

if TYPE_CHECKING:
    from jinja2 import Environment

PRODUCT = "Phresh"
SUBJECTS = {
    MailKind.verify_email: f"Confirm your email address for {PRODUCT}",
    MailKind.reset_password: f"Reset your {PRODUCT} password",
}


@lru_cache(maxsize=1)
def templates() -> "Environment":
    # HTML templates escape every value; text templates are sent as they are.
    # Loaded with the first mail, not with the server.
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=PackageLoader("phresh.mail", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def describe_duration(duration: timedelta) -> str:
    """``24 hours``, ``1 hour``, ``30 minutes``: how long a link works, as a person says it."""
    minutes = int(duration.total_seconds()) // 60
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"


def compose(
    settings: Settings,
    *,
    kind: MailKind,
    mail_id: int,
    recipient: str,
    username: str,
    link: str,
    valid_for: timedelta,
    now: datetime,
) -> EmailMessage:
    """The mail of ``kind`` to ``recipient``, greeting ``username``, with ``link`` in it."""
    subject = SUBJECTS[kind]
    context = {
        "product": PRODUCT,
        "subject": subject,
        "username": username,
        "email": recipient,
        "link": link,
        "valid_for": describe_duration(valid_for),
    }
    environment = templates()
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(settings, mail_id)
    message.set_content(environment.get_template(f"{kind.value}.txt").render(context))
    message.add_alternative(
        environment.get_template(f"{kind.value}.html").render(context), subtype="html"
    )
    return message


def message_id(settings: Settings, mail_id: int) -> str:
    """``<mail-42.<random>@<the sender's domain>>``: unique, and names the outbox row."""
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "phresh.localhost"
    return f"<mail-{mail_id}.{secrets.token_hex(8)}@{domain}>"
