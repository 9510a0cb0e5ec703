"""The feed's SQL: two keyset index walks merged, then the page's cleanings joined."""

from dataclasses import dataclass
from datetime import datetime

from phresh.cleanings.repository import CLEANING_COLUMNS
from phresh.db import Connection
from phresh.models import Cleaning

# Events strictly before ($1, $2) on (event_at, id), newest first. Each branch reads at
# most $3 rows from its own partial index (ix_cleaning_live_created_at,
# ix_cleaning_live_updated_at), so a page costs the same however long the history is.
FEED_SQL = f"""
SELECT e.event, e.event_at, {CLEANING_COLUMNS}
FROM (
    (SELECT id, 'created' AS event, created_at AS event_at
     FROM cleaning
     WHERE deleted_at IS NULL AND (created_at, id) < ($1, $2)
     ORDER BY created_at DESC, id DESC LIMIT $3)
    UNION ALL
    (SELECT id, 'updated' AS event, updated_at AS event_at
     FROM cleaning
     WHERE deleted_at IS NULL AND updated_at > created_at AND (updated_at, id) < ($1, $2)
     ORDER BY updated_at DESC, id DESC LIMIT $3)
) AS e
JOIN cleaning c ON c.id = e.id
JOIN "user" u ON u.id = c.owner_id
ORDER BY e.event_at DESC, e.id DESC
LIMIT $3
"""  # noqa: S608 - CLEANING_COLUMNS is a constant


@dataclass(frozen=True, slots=True)
class Event:
    """A cleaning created or updated at ``at``."""

    kind: str
    at: datetime
    cleaning: Cleaning


async def list_events(
    connection: Connection, *, before: tuple[datetime, int], limit: int
) -> list[Event]:
    events = []
    for record in await connection.fetch(FEED_SQL, before[0], before[1], limit):
        kind, at, *fields = record.values()  # the event, then CLEANING_COLUMNS
        events.append(Event(kind=kind, at=at, cleaning=Cleaning(*fields)))
    return events
