from datetime import UTC, datetime

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from phresh.cleanings.schemas import CleaningRead
from phresh.feed import repository
from phresh.feed.schemas import FeedEvent, FeedItem
from phresh.kit.pagination import CursorCodec, Page, after_time_key, keyset_page, time_key

SCOPE = "feed"
# Above every real id: the first page starts just after "now" itself.
MAX_ID = 2**63 - 1


async def list_feed(
    session: AsyncSession, codec: CursorCodec, *, limit: int, cursor: str | None
) -> Page[FeedItem]:
    # "Now" is read per request, never once at import time.
    before = after_time_key(codec, SCOPE, cursor) or (datetime.now(UTC), MAX_ID)
    rows = await repository.list_events(session, before=before, limit=limit + 1)
    return keyset_page(
        rows,
        limit=limit,
        codec=codec,
        scope=SCOPE,
        key=lambda row: time_key(row["event_at"], row["id"]),
        item=_feed_item,
    )


def _feed_item(row: RowMapping) -> FeedItem:
    return FeedItem(
        event=FeedEvent(row["event"]),
        event_at=row["event_at"],
        cleaning=CleaningRead.model_validate(dict(row)),
    )
