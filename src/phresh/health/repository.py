import asyncpg

from phresh.db import Database

SCHEMA_REVISION = "SELECT version_num FROM alembic_version"


async def read_schema_revision(database: Database) -> str | None:
    """Round-trips to the database and reads the applied migration (None: not migrated)."""
    async with database.acquire() as connection:
        try:
            revision: str | None = await connection.fetchval(SCHEMA_REVISION)
        except asyncpg.UndefinedTableError:
            return None
        return revision
