from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from phresh.cleanings.schemas import CleaningRead
from phresh.feed import repository
from phresh.feed.schemas import FeedEvent, FeedItem
from phresh.kit.pagination import CursorCodec

SCOPE = "feed"
# Above every real id: the first page starts just after "now" itself.
MAX_ID = 2**63 - 1


async def list_feed(
    session: AsyncSession, codec: CursorCodec, *, limit: int, cursor: str | None
) -> tuple[list[FeedItem], str | None]:
    if cursor is None:
        # "Now" is read per request, never once at import time.
        before = (datetime.now(UTC), MAX_ID)
    else:
        event_at, cleaning_id = codec.decode(SCOPE, cursor)
        before = (datetime.fromisoformat(event_at), int(cleaning_id))
    rows = await repository.list_events(session, before=before, limit=limit + 1)
    items = [
        FeedItem(
            event=FeedEvent(row["event"]),
            event_at=row["event_at"],
            cleaning=CleaningRead.model_validate(dict(row)),
        )
        for row in rows[:limit]
    ]
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = codec.encode(SCOPE, [last.event_at.isoformat(), last.cleaning.id])
    return items, next_cursor
