from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, String, Table, Text

from phresh.models.base import metadata, timestamps

profile_table = Table(
    "profile",
    metadata,
    Column("user_id", BigInteger, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("full_name", String(200)),
    Column("phone_number", String(32)),
    Column("bio", Text),
    Column("image_url", String(2048)),
    *timestamps(),
    CheckConstraint("char_length(bio) <= 2000", name="bio_length"),
)


@dataclass(frozen=True, slots=True)
class Profile:
    """A row of ``profile`` with its user's username."""

    user_id: int
    username: str
    full_name: str | None
    phone_number: str | None
    bio: str | None
    image_url: str | None
    created_at: datetime
    updated_at: datetime
