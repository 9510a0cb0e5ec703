from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKeyConstraint,
    Index,
    SmallInteger,
    String,
    Table,
    Text,
    false,
)

from phresh.models.base import metadata, timestamps


def _rating_0_5(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} BETWEEN 0 AND 5", name=f"{column}_range")


# The owner's rating of the cleaner whose offer they accepted; one per cleaning.
evaluation_table = Table(
    "evaluation",
    metadata,
    Column("cleaning_id", BigInteger, primary_key=True),
    Column("cleaner_id", BigInteger, primary_key=True),
    Column("no_show", Boolean, nullable=False, server_default=false()),
    Column("headline", String(200)),
    Column("comment", Text),
    Column("professionalism", SmallInteger),
    Column("completeness", SmallInteger),
    Column("efficiency", SmallInteger),
    Column("overall_rating", SmallInteger, nullable=False),
    *timestamps(),
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


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A row of ``evaluation`` with its cleaner's username."""

    cleaning_id: int
    cleaner_id: int
    cleaner: str
    no_show: bool
    headline: str | None
    comment: str | None
    professionalism: int | None
    completeness: int | None
    efficiency: int | None
    overall_rating: int
    created_at: datetime
    updated_at: datetime
