"""What happened to someone's cleanings or offers, for their live stream (``GET /events``)."""

import enum
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from phresh.models.base import members


class EventKind(enum.StrEnum):
    # To the cleaning's owner.
    offer_created = "offer_created"
    offer_withdrawn = "offer_withdrawn"
    job_cancelled = "job_cancelled"
    # To a cleaner.
    offer_accepted = "offer_accepted"
    offer_rejected = "offer_rejected"
    cleaning_removed = "cleaning_removed"
    evaluation_created = "evaluation_created"


EVENT_KINDS = members(EventKind)


@dataclass(frozen=True, slots=True)
class Event:
    """A row of ``event``: one thing to tell its recipient ``user_id``."""

    id: int
    user_id: int
    kind: EventKind
    cleaning_id: int | None
    data: dict[str, Any]
    created_at: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", EVENT_KINDS[self.kind])
        # asyncpg hands jsonb over as its text.
        if isinstance(self.data, str):
            object.__setattr__(self, "data", json.loads(self.data))
