import enum

from sqlalchemy import BigInteger, CheckConstraint, Enum, ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from phresh.models.base import Base, TimestampMixin
from phresh.models.user import User


class OfferStatus(enum.StrEnum):
    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"
    cancelled = "cancelled"
    completed = "completed"


class Offer(TimestampMixin, Base):
    __tablename__ = "offer"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'accepted', 'rejected', 'cancelled', 'completed')",
            name="status_valid",
        ),
        # The database's own guarantee behind the accept race: one winner per cleaning,
        # whatever a buggy or concurrent writer tries.
        Index(
            "uq_offer_one_accepted_per_cleaning",
            "cleaning_id",
            unique=True,
            postgresql_where=text("status IN ('accepted', 'completed')"),
        ),
        # The cleaner's own offers, newest first, by keyset: GET /users/me/offers.
        Index("ix_offer_cleaner_id_created_at", "cleaner_id", "created_at", "cleaning_id"),
    )

    cleaning_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("cleaning.id", ondelete="CASCADE"), primary_key=True
    )
    cleaner_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[OfferStatus] = mapped_column(
        Enum(
            OfferStatus,
            native_enum=False,
            create_constraint=False,
            length=16,
            validate_strings=True,
            values_callable=lambda members: [member.value for member in members],
        ),
        server_default=OfferStatus.pending.value,
    )

    cleaner: Mapped[User] = relationship(lazy="raise", innerjoin=True)
