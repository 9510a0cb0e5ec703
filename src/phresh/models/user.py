from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Identity,
    String,
    Table,
    Text,
    false,
    true,
)

from phresh.models.base import metadata, timestamps

USERNAME_PATTERN = "^[a-z0-9_-]{3,32}$"

user_table = Table(
    "user",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("username", String(32), nullable=False, unique=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    Column("is_superuser", Boolean, nullable=False, server_default=false()),
    Column("email_verified", Boolean, nullable=False, server_default=false()),
    *timestamps(),
    CheckConstraint(f"username ~ '{USERNAME_PATTERN}'", name="username_format"),
    # Emails are stored lower-case, which makes the unique constraint case-insensitive.
    CheckConstraint("email = lower(email) AND char_length(email) <= 254", name="email_lower"),
)


@dataclass(frozen=True, slots=True)
class User:
    """A row of ``user``, as every repository returns one."""

    id: int
    username: str
    email: str
    password_hash: str
    is_active: bool
    is_superuser: bool
    email_verified: bool
    created_at: datetime
    updated_at: datetime
