"""The feed's SQL: two keyset index walks merged, then the page's cleanings joined."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from phresh.cleanings.repository import CLEANING_COLUMNS
from phresh.kit.repository import fetch_all

# Events strictly before (:at, :id) on (event_at, id), newest first. Each branch reads at
# most :limit rows from its own partial index (ix_cleaning_live_created_at,
# ix_cleaning_live_updated_at), so a page costs the same however long the history is.
FEED_SQL = f"""
SELECT e.event, e.event_at, {CLEANING_COLUMNS}
FROM (
    (SELECT id, 'created' AS event, created_at AS event_at
     FROM cleaning
     WHERE deleted_at IS NULL AND (created_at, id) < (:at, :id)
     ORDER BY created_at DESC, id DESC LIMIT :limit)
    UNION ALL
    (SELECT id, 'updated' AS event, updated_at AS event_at
     FROM cleaning
     WHERE deleted_at IS NULL AND updated_at > created_at AND (updated_at, id) < (:at, :id)
     ORDER BY updated_at DESC, id DESC LIMIT :limit)
) AS e
JOIN cleaning c ON c.id = e.id
JOIN "user" u ON u.id = c.owner_id
ORDER BY e.event_at DESC, e.id DESC
LIMIT :limit
"""  # noqa: S608 - CLEANING_COLUMNS is a constant


async def list_events(
    session: AsyncSession, *, before: tuple[datetime, int], limit: int
) -> Sequence[RowMapping]:
    return await fetch_all(session, FEED_SQL, {"at": before[0], "id": before[1], "limit": limit})
