from datetime import UTC, datetime
from typing import Any

from phresh.db import Connection
from phresh.feed import repository
from phresh.feed.schemas import FeedItem
from phresh.kit.pagination import CursorCodec, Page, after_time_key, keyset_page, time_key

SCOPE = "feed"
# Above every real id: the first page starts just after "now" itself.
MAX_ID = 2**63 - 1


async def list_feed(
    connection: Connection, codec: CursorCodec, *, limit: int, cursor: str | None
) -> Page[FeedItem]:
    # "Now" is read per request, never once at import time.
    before = after_time_key(codec, SCOPE, cursor) or (datetime.now(UTC), MAX_ID)
    events = await repository.list_events(connection, before=before, limit=limit + 1)
    return keyset_page(
        events,
        limit=limit,
        codec=codec,
        scope=SCOPE,
        key=lambda event: time_key(event.at, event.cleaning.id),
        page=Page[FeedItem],
        item=_feed_item,
    )


def _feed_item(event: repository.Event) -> dict[str, Any]:
    """A FeedItem's fields, validated with the whole page."""
    return {"event": event.kind, "event_at": event.at, "cleaning": event.cleaning}
