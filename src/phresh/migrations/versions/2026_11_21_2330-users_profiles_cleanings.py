"""users, profiles and cleanings

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-21 23:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_foundation"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMPED = ("user", "profile", "cleaning")


def timestamps() -> list[sa.Column[object]]:
    return [
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
    ]


def upgrade() -> None:
    # updated_at is the database's job: a trigger, so every writer (psql included) keeps it.
    op.execute(
        """
        CREATE FUNCTION set_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.updated_at := now();
            RETURN NEW;
        END;
        $$
        """
    )
    op.create_table(
        "user",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("is_superuser", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("email_verified", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        *timestamps(),
        sa.CheckConstraint("username ~ '^[a-z0-9_-]{3,32}$'", name=op.f("ck_user_username_format")),
        sa.CheckConstraint(
            "email = lower(email) AND char_length(email) <= 254", name=op.f("ck_user_email_lower")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user")),
        sa.UniqueConstraint("email", name=op.f("uq_user_email")),
        sa.UniqueConstraint("username", name=op.f("uq_user_username")),
    )
    op.create_table(
        "profile",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=True),
        sa.Column("phone_number", sa.String(length=32), nullable=True),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("image_url", sa.String(length=2048), nullable=True),
        *timestamps(),
        sa.CheckConstraint("char_length(bio) <= 2000", name=op.f("ck_profile_bio_length")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_profile_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_profile")),
    )
    op.create_table(
        "cleaning",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column(
            "cleaning_type", sa.String(length=16), server_default="spot_clean", nullable=False
        ),
        sa.Column("price", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "search",
            postgresql.TSVECTOR(),
            sa.Computed(
                "setweight(to_tsvector('english'::regconfig, name), 'A') || "
                "setweight(to_tsvector('english'::regconfig, description), 'B')",
                persisted=True,
            ),
            nullable=False,
        ),
        *timestamps(),
        sa.CheckConstraint("price > 0", name=op.f("ck_cleaning_price_positive")),
        sa.CheckConstraint(
            "char_length(btrim(name)) BETWEEN 1 AND 200", name=op.f("ck_cleaning_name_not_blank")
        ),
        sa.CheckConstraint(
            "char_length(description) <= 5000", name=op.f("ck_cleaning_description_length")
        ),
        sa.CheckConstraint(
            "cleaning_type IN ('dust_up', 'spot_clean', 'full_clean')",
            name=op.f("ck_cleaning_cleaning_type_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'assigned', 'completed', 'cancelled')",
            name=op.f("ck_cleaning_status_valid"),
        ),
        sa.CheckConstraint(
            "deleted_at IS NULL OR status IN ('cancelled', 'completed')",
            name=op.f("ck_cleaning_deleted_is_closed"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["user.id"], name=op.f("fk_cleaning_owner_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cleaning")),
    )
    op.create_index(op.f("ix_cleaning_name"), "cleaning", ["name"])
    op.create_index("ix_cleaning_owner_id_created_at", "cleaning", ["owner_id", "created_at", "id"])
    op.create_index("ix_cleaning_search", "cleaning", ["search"], postgresql_using="gin")
    for table in TIMESTAMPED:
        op.execute(
            f'CREATE TRIGGER set_updated_at BEFORE UPDATE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION set_updated_at()"
        )


def downgrade() -> None:
    op.drop_table("cleaning")
    op.drop_table("profile")
    op.drop_table("user")
    op.execute("DROP FUNCTION set_updated_at()")
