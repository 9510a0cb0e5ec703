"""the cleaner's offers listed newest first by keyset

Revision ID: 0003_my_offers
Revises: 0002_marketplace
Create Date: 2026-11-22 12:00:00.000000+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003_my_offers"
down_revision: str | None = "0002_marketplace"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_offer_cleaner_id_created_at",
        "offer",
        ["cleaner_id", "created_at", "cleaning_id"],
        unique=False,
    )
    # The new index leads with cleaner_id: it serves everything the old one did.
    op.drop_index("ix_offer_cleaner_id", table_name="offer")


def downgrade() -> None:
    op.create_index("ix_offer_cleaner_id", "offer", ["cleaner_id"], unique=False)
    op.drop_index("ix_offer_cleaner_id_created_at", table_name="offer")
