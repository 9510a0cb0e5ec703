"""live events: what happened to someone's cleanings or offers, for GET /events

Revision ID: 0005_events
Revises: 0004_accounts
Create Date: 2026-11-24 09:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005_events"
down_revision: str | None = "0004_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("cleaning_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "kind IN ('offer_created', 'offer_withdrawn', 'job_cancelled', 'offer_accepted', "
            "'offer_rejected', 'cleaning_removed', 'evaluation_created')",
            name=op.f("ck_event_kind_valid"),
        ),
        sa.CheckConstraint("jsonb_typeof(data) = 'object'", name=op.f("ck_event_data_object")),
        sa.ForeignKeyConstraint(
            ["cleaning_id"],
            ["cleaning.id"],
            name=op.f("fk_event_cleaning_id_cleaning"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_event_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event")),
    )
    op.create_index("ix_event_user_id_id", "event", ["user_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_event_user_id_id", table_name="event")
    op.drop_table("event")
