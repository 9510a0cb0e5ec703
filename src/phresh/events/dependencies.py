from typing import Annotated

from fastapi import Depends, Header, Request

from phresh.auth.dependencies import CurrentUser, oauth2_scheme
from phresh.auth.service import Claims, TokenReader
from phresh.db import Database, get_database
from phresh.events.listener import EventListener


async def get_claims(
    request: Request,
    user: CurrentUser,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Claims:
    """The claims of the caller's token (``user`` checked it, and its session): when it
    expires, the stream ends."""
    assert token is not None  # CurrentUser refuses a request without one
    reader: TokenReader = request.app.state.token_reader
    return reader.claims(token)


async def get_event_listener(request: Request) -> EventListener:
    listener: EventListener = request.app.state.event_listener
    return listener


CurrentClaims = Annotated[Claims, Depends(get_claims)]
# The pool itself, for a stream that takes a connection per read (not one for its life).
DatabaseDep = Annotated[Database, Depends(get_database)]
EventListenerDep = Annotated[EventListener, Depends(get_event_listener)]
LastEventId = Annotated[
    int | None,
    Header(
        alias="Last-Event-ID",
        ge=0,
        le=2**63 - 1,
        description=(
            "The id of the last event you got: the stream starts with your events after it. "
            "Without it, the stream starts with your next event."
        ),
    ),
]
