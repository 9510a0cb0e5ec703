"""Alembic, configured in code: ``phresh db ...`` and the tests use the same settings.

Alembic and SQLAlchemy are imported by the functions that use them, not with this package:
the server needs only ``HEAD`` (for readiness), and loading them would cost it 23 MB.
"""

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING

from phresh.config import to_async_url

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy.ext.asyncio import AsyncConnection

MIGRATIONS_DIR = Path(__file__).parent

# The newest migration, which the server's readiness check expects the database to be at.
# A new migration updates it; tests/test_migrations.py checks it is the scripts' head.
HEAD = "0005_events"


def alembic_config(database_url: str | None = None) -> "Config":
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option(
        "file_template",
        "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(slug)s",
    )
    config.set_main_option("truncate_slug_length", "40")
    config.set_main_option("timezone", "UTC")
    # New revisions are formatted by ruff as soon as they are written.
    config.set_section_option("post_write_hooks", "hooks", "ruff_format, ruff_fix")
    config.set_section_option("post_write_hooks", "ruff_format.type", "module")
    config.set_section_option("post_write_hooks", "ruff_format.module", "ruff")
    config.set_section_option(
        "post_write_hooks", "ruff_format.options", "format REVISION_SCRIPT_FILENAME"
    )
    config.set_section_option("post_write_hooks", "ruff_fix.type", "module")
    config.set_section_option("post_write_hooks", "ruff_fix.module", "ruff")
    config.set_section_option(
        "post_write_hooks", "ruff_fix.options", "check --fix REVISION_SCRIPT_FILENAME"
    )
    if database_url is not None:
        # ConfigParser interpolates '%': escape it so URL-encoded passwords survive.
        config.set_main_option("sqlalchemy.url", to_async_url(database_url).replace("%", "%%"))
    return config


def head_revision() -> str | None:
    """The head of the migration scripts, as Alembic reads them."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision(connection: "AsyncConnection") -> str | None:
    from alembic.runtime.migration import MigrationContext

    def read(sync_connection: object) -> str | None:
        context = MigrationContext.configure(sync_connection)  # type: ignore[arg-type]
        return context.get_current_revision()

    return await connection.run_sync(read)


def upgrade(database_url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    # env.py runs its own event loop; keep it off the caller's.
    await asyncio.to_thread(upgrade, database_url, revision)
