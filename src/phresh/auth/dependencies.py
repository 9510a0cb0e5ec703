import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from phresh.auth import service as auth_service
from phresh.auth.exceptions import EmailNotVerified, InvalidToken
from phresh.auth.repository import Client
from phresh.config import Settings
from phresh.db import READ_ONLY_METHODS, ConnectionDep, get_database
from phresh.errors import Unauthorized
from phresh.models import User
from phresh.ratelimit import RateLimits

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
MISSING_TOKEN = "Authentication required: send 'Authorization: Bearer <token>'."  # noqa: S105 - a message


async def get_current_user(
    request: Request,
    connection: ConnectionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User:
    if token is None:
        raise Unauthorized(MISSING_TOKEN)
    reader: auth_service.TokenReader = request.app.state.token_reader
    claims = reader.claims(token)
    user = await auth_service.get_session_user(connection, claims)
    database = get_database(request)
    if user is None and database.replica is not None and request.method in READ_ONLY_METHODS:
        # The read may have gone to the replica, which a session begun a moment ago (a login
        # on the primary) may not have reached yet: the primary has the last word.
        async with database.acquire() as primary:
            user = await auth_service.get_session_user(primary, claims)
    if user is None:
        raise InvalidToken(
            "The session of this token has ended, or its account is disabled; log in again."
        )
    # For the endpoints about the caller's own session (logout, the list of sessions).
    request.state.session_id = claims.session_id
    # For the request's log line (phresh.logs).
    request.state.user_id = user.id
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_session_id(request: Request, user: CurrentUser) -> uuid.UUID:
    """The session of the calling token (``user`` makes sure it was checked)."""
    session_id: uuid.UUID = request.state.session_id
    return session_id


CurrentSessionId = Annotated[uuid.UUID, Depends(get_session_id)]


def ensure_verified(request: Request, user: User) -> None:
    """With PHRESH_REQUIRE_VERIFIED_EMAIL, what others see (a cleaning, an offer) needs a
    verified email. A call in the endpoint, not a dependency: a dependency chained on
    CurrentUser cost POST /cleanings half a millisecond of CPU (bench.inprocess)."""
    settings: Settings = request.app.state.settings
    if settings.require_verified_email and not user.email_verified:
        raise EmailNotVerified(
            "Verify your email first: follow the link we sent, or ask for a new one at "
            "POST /api/v1/auth/verify-email/resend."
        )


async def get_clock(request: Request) -> datetime:
    """The request's 'now' (the app's clock, which tests move)."""
    clock: auth_service.Clock = request.app.state.clock
    return clock()


Now = Annotated[datetime, Depends(get_clock)]

# A user agent is shown back to its owner; beyond this it is cut.
USER_AGENT_LENGTH = 512


async def get_client(request: Request) -> Client:
    user_agent = request.headers.get("user-agent")
    return Client(
        user_agent=user_agent[:USER_AGENT_LENGTH] if user_agent else None,
        address=request.client.host if request.client else None,
    )


ClientDep = Annotated[Client, Depends(get_client)]


async def get_rate_limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


RateLimitsDep = Annotated[RateLimits, Depends(get_rate_limits)]
