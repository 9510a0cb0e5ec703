from sqlalchemy.ext.asyncio import AsyncEngine

from phresh.migrations import current_revision


async def read_schema_revision(engine: AsyncEngine) -> str | None:
    """Round-trips to the database and reads the applied migration."""
    async with engine.connect() as connection:
        return await current_revision(connection)
