"""accounts: sessions and their refresh tokens, one-time account tokens, the mail outbox and
pgqueuer's job tables

Revision ID: 0004_accounts
Revises: 0003_my_offers
Create Date: 2026-11-23 09:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from pgqueuer.adapters.persistence.qb import QueryBuilderEnvironment
from sqlalchemy.dialects import postgresql

revision: str = "0004_accounts"
down_revision: str | None = "0003_my_offers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _at(name: str, *, nullable: bool = False) -> sa.Column[object]:
    default = None if nullable else sa.text("now()")
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable, server_default=default)


def _as_one_statement(script: str) -> str:
    """A script of several statements as one: the driver prepares each statement it is given,
    and a prepared statement holds a single command."""
    body, text = "$do_body$", "$pgqueuer_script$"
    assert body not in script
    assert text not in script
    return f"DO {body} BEGIN EXECUTE {text}{script}{text}; END {body}"


def upgrade() -> None:
    op.create_table(
        "auth_session",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        _at("created_at"),
        _at("last_used_at"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_agent", sa.String(length=512), nullable=True),
        sa.Column("client_address", sa.String(length=64), nullable=True),
        _at("revoked_at", nullable=True),
        sa.Column("revoked_reason", sa.String(length=16), nullable=True),
        sa.CheckConstraint(
            "revoked_reason IN ('logout', 'revoked', 'reuse', 'password_changed', "
            "'password_reset')",
            name=op.f("ck_auth_session_revoked_reason_valid"),
        ),
        sa.CheckConstraint(
            "(revoked_at IS NULL) = (revoked_reason IS NULL)",
            name=op.f("ck_auth_session_revoked_why"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_auth_session_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_session")),
    )
    op.create_index(
        "ix_auth_session_user_id_created_at",
        "auth_session",
        ["user_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "refresh_token",
        sa.Column("token_hash", postgresql.BYTEA(), nullable=False),
        sa.Column("session_id", sa.UUID(), nullable=False),
        _at("created_at"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _at("used_at", nullable=True),
        sa.CheckConstraint(
            "octet_length(token_hash) = 32", name=op.f("ck_refresh_token_token_hash_sha256")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["auth_session.id"],
            name=op.f("fk_refresh_token_session_id_auth_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_refresh_token")),
    )
    op.create_index(
        op.f("ix_refresh_token_session_id"), "refresh_token", ["session_id"], unique=False
    )
    op.create_table(
        "account_token",
        sa.Column("token_hash", postgresql.BYTEA(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        _at("created_at"),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        _at("used_at", nullable=True),
        sa.CheckConstraint(
            "octet_length(token_hash) = 32", name=op.f("ck_account_token_token_hash_sha256")
        ),
        sa.CheckConstraint(
            "purpose IN ('verify_email', 'reset_password')",
            name=op.f("ck_account_token_purpose_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_account_token_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_account_token")),
    )
    op.create_index(
        "ix_account_token_user_id_purpose",
        "account_token",
        ["user_id", "purpose"],
        unique=False,
    )
    op.create_table(
        "mail",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        _at("created_at"),
        _at("sent_at", nullable=True),
        sa.CheckConstraint(
            "kind IN ('verify_email', 'reset_password')", name=op.f("ck_mail_kind_valid")
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'skipped', 'failed')",
            name=op.f("ck_mail_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_mail_user_id_user"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail")),
    )
    op.create_index(
        "ix_mail_pending_created_at",
        "mail",
        ["created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    # pgqueuer's own tables, as the pinned pgqueuer builds them (its `pgq install`). A later
    # pgqueuer that changes them comes with a migration running its upgrade plan.
    op.execute(_as_one_statement(QueryBuilderEnvironment().build_install_query(False)))


def downgrade() -> None:
    op.execute(_as_one_statement(QueryBuilderEnvironment().build_uninstall_query()))
    op.drop_index("ix_mail_pending_created_at", table_name="mail")
    op.drop_table("mail")
    op.drop_index("ix_account_token_user_id_purpose", table_name="account_token")
    op.drop_table("account_token")
    op.drop_index(op.f("ix_refresh_token_session_id"), table_name="refresh_token")
    op.drop_table("refresh_token")
    op.drop_index("ix_auth_session_user_id_created_at", table_name="auth_session")
    op.drop_table("auth_session")
