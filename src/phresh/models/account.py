"""Sessions, one-time account tokens and the mail outbox: the rows behind accounts."""

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime


class SessionEnd(enum.StrEnum):
    """Why a session stopped: kept on the row, for the owner's and an operator's eyes."""

    logout = "logout"
    revoked = "revoked"
    reuse = "reuse"
    password_changed = "password_changed"
    password_reset = "password_reset"


class TokenPurpose(enum.StrEnum):
    verify_email = "verify_email"
    reset_password = "reset_password"


class MailKind(enum.StrEnum):
    verify_email = "verify_email"
    reset_password = "reset_password"


class MailStatus(enum.StrEnum):
    pending = "pending"
    sent = "sent"
    # Nothing to send any more (no such account, already verified): not an error.
    skipped = "skipped"
    failed = "failed"


@dataclass(frozen=True, slots=True)
class Session:
    """A row of ``auth_session``: one login, renewed by its refresh tokens."""

    id: uuid.UUID
    user_id: int
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    client_address: str | None
    revoked_at: datetime | None
    revoked_reason: str | None


@dataclass(frozen=True, slots=True)
class Mail:
    """A row of ``mail``: what to send to whom. The message itself (and any token in its
    link) is made by the worker when it delivers, so no usable token is ever stored."""

    id: int
    kind: MailKind
    recipient: str
    user_id: int | None
    status: MailStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
