import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    DateTime,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Numeric,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from phresh.models.base import Base, TimestampMixin
from phresh.models.user import User


class CleaningType(enum.StrEnum):
    dust_up = "dust_up"
    spot_clean = "spot_clean"
    full_clean = "full_clean"


class CleaningStatus(enum.StrEnum):
    open = "open"
    assigned = "assigned"
    completed = "completed"
    cancelled = "cancelled"


def _in(column: str, values: type[enum.StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


SEARCH_EXPRESSION = (
    "setweight(to_tsvector('english'::regconfig, name), 'A') || "
    "setweight(to_tsvector('english'::regconfig, description), 'B')"
)


def _varchar_enum(enum_class: type[enum.StrEnum]) -> Enum:
    # A plain varchar + CHECK (below) rather than a PostgreSQL ENUM: new values need no
    # ALTER TYPE dance in a migration.
    return Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=16,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )


class Cleaning(TimestampMixin, Base):
    __tablename__ = "cleaning"
    __table_args__ = (
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("char_length(btrim(name)) BETWEEN 1 AND 200", name="name_not_blank"),
        CheckConstraint("char_length(description) <= 5000", name="description_length"),
        CheckConstraint(_in("cleaning_type", CleaningType), name="cleaning_type_valid"),
        CheckConstraint(_in("status", CleaningStatus), name="status_valid"),
        # A soft-deleted cleaning is cancelled unless it had already been completed.
        CheckConstraint(
            "deleted_at IS NULL OR status IN ('cancelled', 'completed')",
            name="deleted_is_closed",
        ),
        Index("ix_cleaning_search", "search", postgresql_using="gin"),
        Index("ix_cleaning_owner_id_created_at", "owner_id", "created_at", "id"),
        # Keyset pagination: each listing walks one of these (backwards for "newest"), so a
        # page costs the same at row 1 and at row 900,000. Partial: only what is listed.
        Index(
            "ix_cleaning_open_created_at",
            "created_at",
            "id",
            postgresql_where=text("status = 'open' AND deleted_at IS NULL"),
        ),
        Index(
            "ix_cleaning_open_price",
            "price",
            "id",
            postgresql_where=text("status = 'open' AND deleted_at IS NULL"),
        ),
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

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    owner_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200), index=True)
    description: Mapped[str] = mapped_column(Text, server_default="")
    cleaning_type: Mapped[CleaningType] = mapped_column(
        _varchar_enum(CleaningType), server_default=CleaningType.spot_clean.value
    )
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    status: Mapped[CleaningStatus] = mapped_column(
        _varchar_enum(CleaningStatus), server_default=CleaningStatus.open.value
    )
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    search: Mapped[str] = mapped_column(
        TSVECTOR, Computed(text(SEARCH_EXPRESSION).text, persisted=True), deferred=True
    )

    owner: Mapped[User] = relationship(lazy="raise", innerjoin=True)
