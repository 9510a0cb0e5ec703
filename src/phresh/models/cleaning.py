import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Numeric,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR

from phresh.models.base import members, metadata, one_of, timestamps, varchar_enum


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
LISTED = text("status = 'open' AND deleted_at IS NULL")

cleaning_table = Table(
    "cleaning",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("owner_id", BigInteger, ForeignKey("user.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(200), nullable=False, index=True),
    Column("description", Text, nullable=False, server_default=""),
    Column(
        "cleaning_type",
        varchar_enum(CleaningType),
        nullable=False,
        server_default=CleaningType.spot_clean.value,
    ),
    Column("price", Numeric(10, 2), nullable=False),
    Column(
        "status",
        varchar_enum(CleaningStatus),
        nullable=False,
        server_default=CleaningStatus.open.value,
    ),
    Column("deleted_at", DateTime(timezone=True)),
    Column("search", TSVECTOR, Computed(SEARCH_EXPRESSION, persisted=True)),
    *timestamps(),
    CheckConstraint("price > 0", name="price_positive"),
    CheckConstraint("char_length(btrim(name)) BETWEEN 1 AND 200", name="name_not_blank"),
    CheckConstraint("char_length(description) <= 5000", name="description_length"),
    one_of("cleaning_type", CleaningType),
    one_of("status", CleaningStatus),
    # A soft-deleted cleaning is cancelled unless it had already been completed.
    CheckConstraint(
        "deleted_at IS NULL OR status IN ('cancelled', 'completed')", name="deleted_is_closed"
    ),
    Index("ix_cleaning_search", "search", postgresql_using="gin"),
    Index("ix_cleaning_owner_id_created_at", "owner_id", "created_at", "id"),
    # Keyset pagination: each listing walks one of these (backwards for "newest"), so a page
    # costs the same at row 1 and at row 900,000. Partial: only what is listed.
    Index("ix_cleaning_open_created_at", "created_at", "id", postgresql_where=LISTED),
    Index("ix_cleaning_open_price", "price", "id", postgresql_where=LISTED),
    # The feed: "created" events, and "updated" events of rows changed since creation.
    Index(
        "ix_cleaning_live_created_at",
        "created_at",
        "id",
        postgresql_where=text("deleted_at IS NULL"),
    ),
    Index(
        "ix_cleaning_live_updated_at",
        "updated_at",
        "id",
        postgresql_where=text("deleted_at IS NULL AND updated_at > created_at"),
    ),
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
