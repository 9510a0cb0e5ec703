from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    SmallInteger,
    String,
    Text,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from phresh.models.base import Base, TimestampMixin
from phresh.models.user import User


def _rating_0_5(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} BETWEEN 0 AND 5", name=f"{column}_range")


class Evaluation(TimestampMixin, Base):
    """The owner's rating of the cleaner whose offer they accepted; one per cleaning."""

    __tablename__ = "evaluation"
    __table_args__ = (
        ForeignKeyConstraint(
            ["cleaning_id", "cleaner_id"],
            ["offer.cleaning_id", "offer.cleaner_id"],
            ondelete="CASCADE",
        ),
        _rating_0_5("professionalism"),
        _rating_0_5("completeness"),
        _rating_0_5("efficiency"),
        _rating_0_5("overall_rating"),
        CheckConstraint("char_length(comment) <= 5000", name="comment_length"),
        Index("uq_evaluation_cleaning_id", "cleaning_id", unique=True),
        Index("ix_evaluation_cleaner_id_created_at", "cleaner_id", "created_at", "cleaning_id"),
    )

    cleaning_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    cleaner_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    no_show: Mapped[bool] = mapped_column(server_default=false())
    headline: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)
    professionalism: Mapped[int | None] = mapped_column(SmallInteger)
    completeness: Mapped[int | None] = mapped_column(SmallInteger)
    efficiency: Mapped[int | None] = mapped_column(SmallInteger)
    overall_rating: Mapped[int] = mapped_column(SmallInteger)

    cleaner: Mapped[User] = relationship(
        primaryjoin="foreign(Evaluation.cleaner_id) == User.id",
        viewonly=True,
        lazy="raise",
        innerjoin=True,
    )
