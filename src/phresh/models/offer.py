import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Table, text

from phresh.models.base import members, metadata, one_of, timestamps, varchar_enum


class OfferStatus(enum.StrEnum):
    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"
    cancelled = "cancelled"
    completed = "completed"


OFFER_STATUSES = members(OfferStatus)

offer_table = Table(
    "offer",
    metadata,
    Column(
        "cleaning_id",
        BigInteger,
        ForeignKey("cleaning.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("cleaner_id", BigInteger, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "status",
        varchar_enum(OfferStatus),
        nullable=False,
        server_default=OfferStatus.pending.value,
    ),
    *timestamps(),
    one_of("status", OfferStatus),
    # The database's own guarantee behind the accept race: one winner per cleaning, whatever
    # a buggy or concurrent writer tries.
    Index(
        "uq_offer_one_accepted_per_cleaning",
        "cleaning_id",
        unique=True,
        postgresql_where=text("status IN ('accepted', 'completed')"),
    ),
    # The cleaner's own offers, newest first, by keyset: GET /users/me/offers.
    Index("ix_offer_cleaner_id_created_at", "cleaner_id", "created_at", "cleaning_id"),
)


@dataclass(frozen=True, slots=True)
class Offer:
    """A row of ``offer`` with its cleaner's username."""

    cleaning_id: int
    cleaner_id: int
    cleaner: str
    status: OfferStatus
    created_at: datetime
    updated_at: datetime

    def __post_init__(self) -> None:
        # The row's varchar column, as the enum it holds.
        object.__setattr__(self, "status", OFFER_STATUSES[self.status])
