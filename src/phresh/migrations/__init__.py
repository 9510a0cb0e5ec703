"""Alembic, configured in code: ``phresh db ...`` and the tests use the same settings.

Alembic and SQLAlchemy are imported by the functions that use them, not with this package:
the server needs only ``HEAD`` (for readiness), and loading them would cost it 23 MB.
"""

import asyncio
import sys
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

# Every revision id starts with its place in the chain, four digits ("0005_events"; checked by
# tests/test_migrations.py), so that a process can tell a database migrated by a newer release
# (a later revision it has no script for) from one it does not know at all, without Alembic.
SEQUENCE_DIGITS = 4
# alembic_version.version_num holds 32 characters: the number, "_" and this many.
MAX_ID_WORDS = 27

# The key of the session-level advisory lock `upgrade` and `downgrade` hold, so that N processes
# starting with PHRESH_MIGRATE_ON_START=true (or N `phresh db upgrade` at once) migrate one at a
# time: the second finds the work done. In the one-bigint key space, apart from the two-integer
# keys the events take (phresh.events.repository).
MIGRATION_LOCK_KEY = 0x7068_7265_7368_0001  # "phresh" + 1


def sequence(revision: str) -> int | None:
    """A revision's place in the chain, from its id; None for an id not of that form."""
    prefix = revision[:SEQUENCE_DIGITS]
    if len(prefix) == SEQUENCE_DIGITS and prefix.isdigit():
        return int(prefix)
    return None


def next_revision_id(message: str, head: str | None = HEAD) -> str:
    """The id of the migration that follows ``head``: its number, then the message's words
    (``0006_add_cleaning_notes``)."""
    number = (sequence(head) or 0) + 1 if head is not None else 1
    words = "".join(c if c.isalnum() else " " for c in message.lower()).split()
    return f"{number:0{SEQUENCE_DIGITS}d}_{'_'.join(words)[:MAX_ID_WORDS]}".rstrip("_")


def at_or_after(current: str | None, head: str) -> bool:
    """Whether a database at ``current`` serves code whose newest migration is ``head``: at that
    revision, or at a later one of a newer release (migrations are expand/contract: a release's
    migrations only add what its predecessor can ignore; README "Deploying a new release")."""
    if current is None:
        return False
    if current == head:
        return True
    found, expected = sequence(current), sequence(head)
    return found is not None and expected is not None and found > expected


def alembic_config(database_url: str | None = None) -> "Config":
    from alembic.config import Config

    # The stream of now: Config's default is sys.stdout as it was when alembic was imported,
    # which an in-process runner (typer's CliRunner) may since have closed.
    config = Config(stdout=sys.stdout)
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
    """Migrate up to ``revision``, holding the migrations' advisory lock; a database a newer
    release already took past this code's head is left as it is."""
    from alembic import command

    config = alembic_config(database_url)
    config.attributes["skip_if_ahead"] = revision == "head"
    command.upgrade(config, revision)


def downgrade(database_url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    # env.py runs its own event loop; keep it off the caller's.
    await asyncio.to_thread(upgrade, database_url, revision)
