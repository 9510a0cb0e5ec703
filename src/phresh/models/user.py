from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, CheckConstraint, Identity, String, Text, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from phresh.models.base import Base, TimestampMixin

if TYPE_CHECKING:
    from phresh.models.profile import Profile

USERNAME_PATTERN = "^[a-z0-9_-]{3,32}$"


class User(TimestampMixin, Base):
    __tablename__ = "user"
    __table_args__ = (
        CheckConstraint(f"username ~ '{USERNAME_PATTERN}'", name="username_format"),
        # Emails are stored lower-case, which makes the unique constraint case-insensitive.
        CheckConstraint("email = lower(email) AND char_length(email) <= 254", name="email_lower"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    username: Mapped[str] = mapped_column(String(32), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(server_default=true())
    is_superuser: Mapped[bool] = mapped_column(server_default=false())
    email_verified: Mapped[bool] = mapped_column(server_default=false())

    profile: Mapped["Profile"] = relationship(back_populates="user", lazy="raise")
