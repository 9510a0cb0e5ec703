import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from phresh.models.base import members


class CleaningType(enum.StrEnum):
    dust_up = "dust_up"
    spot_clean = "spot_clean"
    full_clean = "full_clean"


class CleaningStatus(enum.StrEnum):
    open = "open"
    assigned = "assigned"
    completed = "completed"
    cancelled = "cancelled"


CLEANING_TYPES = members(CleaningType)
CLEANING_STATUSES = members(CleaningStatus)

SEARCH_EXPRESSION = (
    "setweight(to_tsvector('english'::regconfig, name), 'A') || "
    "setweight(to_tsvector('english'::regconfig, description), 'B')"
)


@dataclass(frozen=True, slots=True)
class Cleaning:
    """A row of ``cleaning`` with its owner's username, as every repository returns one."""

    id: int
    owner_id: int
    owner: str
    name: str
    description: str
    cleaning_type: CleaningType
    price: Decimal
    status: CleaningStatus
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None

    def __post_init__(self) -> None:
        # A row's varchar columns, as the enums they hold.
        object.__setattr__(self, "cleaning_type", CLEANING_TYPES[self.cleaning_type])
        object.__setattr__(self, "status", CLEANING_STATUSES[self.status])
