"""The schema, in SQLAlchemy Core: what Alembic autogenerates from and ``phresh db check``
compares with the database. The application never imports it: it reads and writes these
tables in SQL (each domain's ``repository.py``) and gets rows as ``phresh.models`` entities.
"""

import enum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Table,
    Text,
    false,
    func,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import BYTEA, JSONB, TSVECTOR, UUID

from phresh.models import (
    CleaningStatus,
    CleaningType,
    EventKind,
    MailKind,
    MailStatus,
    OfferStatus,
    SessionEnd,
    TokenPurpose,
)
from phresh.models.cleaning import SEARCH_EXPRESSION
from phresh.models.user import USERNAME_PATTERN

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def timestamps() -> tuple[Column[object], Column[object]]:
    """``created_at``/``updated_at``, kept by the database (a default and the
    ``set_updated_at`` trigger), whatever a writer sends."""
    return (
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def varchar_enum(enum_class: type[enum.StrEnum]) -> Enum:
    """A plain varchar (with a CHECK from ``one_of``) rather than a PostgreSQL ENUM: new
    values need no ALTER TYPE dance in a migration."""
    return Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=16,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )


def one_of(column: str, enum_class: type[enum.StrEnum]) -> CheckConstraint:
    """The CHECK of an enum column, named ``<column>_valid``."""
    values = ", ".join(repr(member.value) for member in enum_class)
    return CheckConstraint(f"{column} IN ({values})", name=f"{column}_valid")


user_table = Table(
    "user",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("username", String(32), nullable=False, unique=True),
    Column("email", String(254), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("is_active", Boolean, nullable=False, server_default=true()),
    Column("is_superuser", Boolean, nullable=False, server_default=false()),
    Column("email_verified", Boolean, nullable=False, server_default=false()),
    *timestamps(),
    CheckConstraint(f"username ~ '{USERNAME_PATTERN}'", name="username_format"),
    # Emails are stored lower-case, which makes the unique constraint case-insensitive.
    CheckConstraint("email = lower(email) AND char_length(email) <= 254", name="email_lower"),
)


profile_table = Table(
    "profile",
    metadata,
    Column("user_id", BigInteger, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("full_name", String(200)),
    Column("phone_number", String(32)),
    Column("bio", Text),
    Column("image_url", String(2048)),
    *timestamps(),
    CheckConstraint("char_length(bio) <= 2000", name="bio_length"),
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


def _at(name: str, *, nullable: bool = False) -> Column[object]:
    default = None if nullable else func.now()
    return Column(name, DateTime(timezone=True), nullable=nullable, server_default=default)


# One login: renewed by rotating refresh tokens until it is revoked or expires_at (the
# absolute limit) passes. Its id is the ``sid`` claim of its access tokens.
auth_session_table = Table(
    "auth_session",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True, server_default=func.gen_random_uuid()),
    Column("user_id", BigInteger, ForeignKey("user.id", ondelete="CASCADE"), nullable=False),
    _at("created_at"),
    _at("last_used_at"),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("user_agent", String(512)),
    Column("client_address", String(64)),
    _at("revoked_at", nullable=True),
    Column("revoked_reason", varchar_enum(SessionEnd)),
    one_of("revoked_reason", SessionEnd),
    CheckConstraint("(revoked_at IS NULL) = (revoked_reason IS NULL)", name="revoked_why"),
    # The owner's sessions, newest first, by keyset.
    Index("ix_auth_session_user_id_created_at", "user_id", "created_at", "id"),
)

# Every refresh token a session was given, by its SHA-256 (never the token itself): the
# current one has used_at NULL; a used one presented again is a reuse.
refresh_token_table = Table(
    "refresh_token",
    metadata,
    Column("token_hash", BYTEA, primary_key=True),
    Column(
        "session_id",
        UUID(as_uuid=True),
        ForeignKey("auth_session.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    _at("created_at"),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    _at("used_at", nullable=True),
    CheckConstraint("octet_length(token_hash) = 32", name="token_hash_sha256"),
)

# Single-use links sent by mail (verify an address, reset a password), by SHA-256.
account_token_table = Table(
    "account_token",
    metadata,
    Column("token_hash", BYTEA, primary_key=True),
    Column("user_id", BigInteger, ForeignKey("user.id", ondelete="CASCADE"), nullable=False),
    Column("purpose", varchar_enum(TokenPurpose), nullable=False),
    # The address the link went to: verifying it verifies that address only.
    Column("email", String(254), nullable=False),
    _at("created_at"),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    _at("used_at", nullable=True),
    one_of("purpose", TokenPurpose),
    CheckConstraint("octet_length(token_hash) = 32", name="token_hash_sha256"),
    Index("ix_account_token_user_id_purpose", "user_id", "purpose"),
)

# The outbox: a mail to send, written in the transaction that asks for it; a pgqueuer job
# (same transaction) tells a worker to deliver it.
mail_table = Table(
    "mail",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("kind", varchar_enum(MailKind), nullable=False),
    Column("recipient", String(254), nullable=False),
    Column("user_id", BigInteger, ForeignKey("user.id", ondelete="SET NULL")),
    Column(
        "status", varchar_enum(MailStatus), nullable=False, server_default=MailStatus.pending.value
    ),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", String(500)),
    _at("created_at"),
    _at("sent_at", nullable=True),
    one_of("kind", MailKind),
    one_of("status", MailStatus),
    # The backlog, for the worker's sweep and the operator's eyes.
    Index("ix_mail_pending_created_at", "created_at", postgresql_where=text("status = 'pending'")),
)


# What happened to someone's cleanings or offers, for their live stream (GET /events): one
# row per recipient, written in the transaction of the change. Read by keyset on (user_id,
# id); rows older than 30 days are pruned.
event_table = Table(
    "event",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("user_id", BigInteger, ForeignKey("user.id", ondelete="CASCADE"), nullable=False),
    # text, not varchar(16): the kinds' names are longer than the other enums'.
    Column("kind", Text, nullable=False),
    Column("cleaning_id", BigInteger, ForeignKey("cleaning.id", ondelete="CASCADE")),
    Column("data", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    _at("created_at"),
    one_of("kind", EventKind),
    CheckConstraint("jsonb_typeof(data) = 'object'", name="data_object"),
    Index("ix_event_user_id_id", "user_id", "id"),
)
