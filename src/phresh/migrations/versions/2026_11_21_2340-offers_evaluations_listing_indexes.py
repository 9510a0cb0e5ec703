"""offers, evaluations and the indexes behind keyset listings and the feed

Revision ID: 0002_marketplace
Revises: 0001_foundation
Create Date: 2026-11-21 23:40:33.859404+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_marketplace"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "offer",
        sa.Column("cleaning_id", sa.BigInteger(), nullable=False),
        sa.Column("cleaner_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "accepted",
                "rejected",
                "cancelled",
                "completed",
                name="offerstatus",
                native_enum=False,
                length=16,
            ),
            server_default="pending",
            nullable=False,
        ),
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
        sa.CheckConstraint(
            "status IN ('pending', 'accepted', 'rejected', 'cancelled', 'completed')",
            name=op.f("ck_offer_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["cleaner_id"], ["user.id"], name=op.f("fk_offer_cleaner_id_user"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["cleaning_id"],
            ["cleaning.id"],
            name=op.f("fk_offer_cleaning_id_cleaning"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cleaning_id", "cleaner_id", name=op.f("pk_offer")),
    )
    op.create_index("ix_offer_cleaner_id", "offer", ["cleaner_id"], unique=False)
    op.create_index(
        "uq_offer_one_accepted_per_cleaning",
        "offer",
        ["cleaning_id"],
        unique=True,
        postgresql_where=sa.text("status IN ('accepted', 'completed')"),
    )
    op.create_table(
        "evaluation",
        sa.Column("cleaning_id", sa.BigInteger(), nullable=False),
        sa.Column("cleaner_id", sa.BigInteger(), nullable=False),
        sa.Column("no_show", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("headline", sa.String(length=200), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("professionalism", sa.SmallInteger(), nullable=True),
        sa.Column("completeness", sa.SmallInteger(), nullable=True),
        sa.Column("efficiency", sa.SmallInteger(), nullable=True),
        sa.Column("overall_rating", sa.SmallInteger(), nullable=False),
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
        sa.CheckConstraint(
            "char_length(comment) <= 5000", name=op.f("ck_evaluation_comment_length")
        ),
        sa.CheckConstraint(
            "completeness BETWEEN 0 AND 5", name=op.f("ck_evaluation_completeness_range")
        ),
        sa.CheckConstraint(
            "efficiency BETWEEN 0 AND 5", name=op.f("ck_evaluation_efficiency_range")
        ),
        sa.CheckConstraint(
            "overall_rating BETWEEN 0 AND 5", name=op.f("ck_evaluation_overall_rating_range")
        ),
        sa.CheckConstraint(
            "professionalism BETWEEN 0 AND 5", name=op.f("ck_evaluation_professionalism_range")
        ),
        sa.ForeignKeyConstraint(
            ["cleaning_id", "cleaner_id"],
            ["offer.cleaning_id", "offer.cleaner_id"],
            name=op.f("fk_evaluation_cleaning_id_offer"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("cleaning_id", "cleaner_id", name=op.f("pk_evaluation")),
    )
    op.create_index(
        "ix_evaluation_cleaner_id_created_at",
        "evaluation",
        ["cleaner_id", "created_at", "cleaning_id"],
        unique=False,
    )
    op.create_index("uq_evaluation_cleaning_id", "evaluation", ["cleaning_id"], unique=True)
    op.create_index(
        "ix_cleaning_live_created_at",
        "cleaning",
        ["created_at", "id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "ix_cleaning_live_updated_at",
        "cleaning",
        ["updated_at", "id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL AND updated_at > created_at"),
    )
    op.create_index(
        "ix_cleaning_open_created_at",
        "cleaning",
        ["created_at", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'open' AND deleted_at IS NULL"),
    )
    op.create_index(
        "ix_cleaning_open_price",
        "cleaning",
        ["price", "id"],
        unique=False,
        postgresql_where=sa.text("status = 'open' AND deleted_at IS NULL"),
    )
    for table in ("offer", "evaluation"):
        op.execute(
            f'CREATE TRIGGER set_updated_at BEFORE UPDATE ON "{table}" '
            "FOR EACH ROW EXECUTE FUNCTION set_updated_at()"
        )


def downgrade() -> None:
    op.drop_index(
        "ix_cleaning_open_price",
        table_name="cleaning",
        postgresql_where=sa.text("status = 'open' AND deleted_at IS NULL"),
    )
    op.drop_index(
        "ix_cleaning_open_created_at",
        table_name="cleaning",
        postgresql_where=sa.text("status = 'open' AND deleted_at IS NULL"),
    )
    op.drop_index(
        "ix_cleaning_live_updated_at",
        table_name="cleaning",
        postgresql_where=sa.text("deleted_at IS NULL AND updated_at > created_at"),
    )
    op.drop_index(
        "ix_cleaning_live_created_at",
        table_name="cleaning",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index("uq_evaluation_cleaning_id", table_name="evaluation")
    op.drop_index("ix_evaluation_cleaner_id_created_at", table_name="evaluation")
    op.drop_table("evaluation")
    op.drop_index(
        "uq_offer_one_accepted_per_cleaning",
        table_name="offer",
        postgresql_where=sa.text("status IN ('accepted', 'completed')"),
    )
    op.drop_index("ix_offer_cleaner_id", table_name="offer")
    op.drop_table("offer")
