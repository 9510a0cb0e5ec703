import enum
from datetime import datetime

from phresh.cleanings.schemas import CleaningRead
from phresh.kit.schemas import Schema


class FeedEvent(enum.StrEnum):
    created = "created"
    updated = "updated"


class FeedItem(Schema):
    event: FeedEvent
    event_at: datetime
    cleaning: CleaningRead
