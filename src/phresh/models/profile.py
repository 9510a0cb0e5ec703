from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from phresh.models.base import Base, TimestampMixin

if TYPE_CHECKING:
    from phresh.models.user import User


class Profile(TimestampMixin, Base):
    __tablename__ = "profile"
    __table_args__ = (CheckConstraint("char_length(bio) <= 2000", name="bio_length"),)

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    full_name: Mapped[str | None] = mapped_column(String(200))
    phone_number: Mapped[str | None] = mapped_column(String(32))
    bio: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(String(2048))

    user: Mapped["User"] = relationship(back_populates="profile", lazy="raise")
