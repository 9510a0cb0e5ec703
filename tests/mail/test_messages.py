from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest

from phresh.config import Settings
from phresh.mail.messages import compose, describe_duration
from phresh.models import MailKind

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LINK = "https://phresh.example/verify-email?token=abc"


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return text.get_content(), html.get_content()


def make(settings: Settings, kind: MailKind, username: str = "ada") -> EmailMessage:
    return compose(
        settings,
        kind=kind,
        mail_id=42,
        recipient="ada@example.com",
        username=username,
        link=LINK,
        valid_for=timedelta(hours=24 if kind is MailKind.verify_email else 1),
        now=NOW,
    )


@pytest.mark.parametrize(
    ("kind", "subject", "valid_for"),
    [
        (MailKind.verify_email, "Confirm your email address for Phresh", "24 hours"),
        (MailKind.reset_password, "Reset your Phresh password", "1 hour"),
    ],
)
def test_a_mail_has_text_and_html_with_the_link_and_how_long_it_works(
    settings: Settings, kind: MailKind, subject: str, valid_for: str
) -> None:
    message = make(settings, kind)

    assert message["Subject"] == subject
    assert message["From"] == settings.mail_from
    assert message["To"] == "ada@example.com"
    assert message["Date"] == "Mon, 23 Nov 2026 09:00:00 +0000"
    assert message["Message-ID"].startswith("<mail-42.")
    assert message["Message-ID"].endswith("@phresh.localhost>")
    assert message.get_content_type() == "multipart/alternative"
    for body in parts(message):
        assert "Hello ada," in body
        assert "Phresh" in body
        assert LINK in body
        assert f"The link works for {valid_for}, once." in body
        assert "If this wasn't you, ignore this mail" in body


def test_the_html_part_escapes_what_it_is_given(settings: Settings) -> None:
    text, html = parts(make(settings, MailKind.verify_email, username="<b>ada</b>"))

    assert "Hello <b>ada</b>," in text
    assert "Hello &lt;b&gt;ada&lt;/b&gt;," in html
    assert "<b>ada</b>" not in html


@pytest.mark.parametrize(
    ("duration", "said"),
    [
        (timedelta(hours=24), "24 hours"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(minutes=30), "30 minutes"),
        (timedelta(minutes=1), "1 minute"),
    ],
)
def test_durations_read_as_a_person_says_them(duration: timedelta, said: str) -> None:
    assert describe_duration(duration) == said
