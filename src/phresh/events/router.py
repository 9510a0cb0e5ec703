import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing

import asyncpg
from fastapi import APIRouter
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from phresh.auth.exceptions import InvalidToken
from phresh.db import PrimaryConnectionDep
from phresh.dependencies import SettingsDep
from phresh.errors import Unauthorized, error_responses
from phresh.events import service as event_service
from phresh.events.dependencies import CurrentClaims, DatabaseDep, EventListenerDep, LastEventId
from phresh.events.schemas import EventRead, StreamedEvent
from phresh.models import Event

logger = logging.getLogger("phresh.events")

router = APIRouter(prefix="/events", tags=["events"])

# How long a client waits before reconnecting after the stream ends or breaks.
RETRY_MS = 3000
KEEPALIVE = b": keepalive\n\n"

STREAM_DESCRIPTION = f"""\
A `text/event-stream` of what happens to your cleanings and offers, as it happens:

- `offer_created`, `offer_withdrawn`, `job_cancelled`: to a cleaning's owner, when a cleaner
  offers, withdraws an offer, or cancels the accepted job;
- `offer_accepted`, `offer_rejected`: to each cleaner with a pending offer, when the owner
  accepts one of them;
- `cleaning_removed`: to each cleaner with a pending offer, when the owner deletes the
  cleaning (their offers become rejected);
- `evaluation_created`: to the cleaner, when the owner rates the job.

The stream opens with `retry: {RETRY_MS}`; each event is a message `id: <id>`,
`event: <kind>`, `data: <the event as JSON>` (an `EventRead`); `: keepalive` comments come
while nothing happens. Authenticate with the bearer token (read the stream with `fetch`,
whose headers you set, rather than `EventSource`). Send `Last-Event-ID` with the id of the
last event you got to receive the ones after it first; without it the stream starts with
your next event. Events are kept 30 days.

The stream ends when the access token expires or its session ends: reconnect with a fresh
token and `Last-Event-ID` (an event may come twice across a reconnection, never not at all:
tell them apart by id)."""


class EventStream(StreamingResponse):
    """A ``text/event-stream`` response whose generator is closed when the response ends,
    however it ends (finished, client gone, server stopping): no subscription outlives it."""

    media_type = "text/event-stream"

    def __init__(self, messages: AsyncGenerator[bytes]) -> None:
        super().__init__(
            messages,
            # Proxies must pass each message on at once, and keep none.
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self.messages = messages

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with aclosing(self.messages):
            await super().__call__(scope, receive, send)


@router.get(
    "",
    status_code=200,
    response_class=EventStream,
    responses={
        200: {
            "model": StreamedEvent,
            # Beside the model's $ref: FastAPI's own schema of a streamed body says "string".
            "content": {EventStream.media_type: {"schema": {"type": "object"}}},
            "description": (
                "The stream: each message has an `id`, an `event` (its kind) and a `data` "
                "line holding the event (`EventRead`) as JSON; the schema describes one "
                "message."
            ),
        },
        **error_responses(Unauthorized, InvalidToken),
    },
    summary="Your live events, as a text/event-stream",
    description=STREAM_DESCRIPTION,
)
async def stream_events(
    claims: CurrentClaims,
    # The primary's: the stream reads what LISTEN announced as committed there.
    connection: PrimaryConnectionDep,
    database: DatabaseDep,
    settings: SettingsDep,
    listener: EventListenerDep,
    last_event_id: LastEventId = None,
) -> EventStream:
    # The request's pooled connection serves this one read and goes back to the pool when
    # this function returns (PrimaryConnectionDep's scope), before the stream starts: each read of
    # the stream then takes one for its statement only.
    after_id = await event_service.get_start(connection, claims.user_id, last_event_id)
    batches = event_service.follow_events(
        database,
        listener,
        claims,
        after_id,
        keepalive_s=settings.events_keepalive_s,
    )
    return EventStream(sse_messages(batches))


async def sse_messages(batches: AsyncGenerator[list[Event]]) -> AsyncGenerator[bytes]:
    yield f"retry: {RETRY_MS}\n\n".encode()
    async with aclosing(batches):
        try:
            async for batch in batches:
                yield b"".join(map(sse_message, batch)) if batch else KEEPALIVE
        except (OSError, asyncpg.InterfaceError, asyncpg.PostgresError) as exc:
            # The response has started: no problem document can follow. The stream ends,
            # and the client reconnects (after RETRY_MS) where it left off.
            logger.warning(
                "event stream ended by a database error: %s sqlstate=%s",
                type(exc).__name__,
                getattr(exc, "sqlstate", None) or "-",
            )


def sse_message(event: Event) -> bytes:
    data = EventRead.model_validate(event).model_dump_json()
    return f"id: {event.id}\nevent: {event.kind}\ndata: {data}\n\n".encode()
