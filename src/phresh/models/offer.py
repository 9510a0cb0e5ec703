import enum
from dataclasses import dataclass
from datetime import datetime

from phresh.models.base import members


class OfferStatus(enum.StrEnum):
    pending = "pending"
    accepted = "accepted"
    rejected = "rejected"
    cancelled = "cancelled"
    completed = "completed"


OFFER_STATUSES = members(OfferStatus)


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
