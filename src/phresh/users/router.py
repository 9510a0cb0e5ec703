import uuid

from fastapi import APIRouter, Response, status

from phresh.auth import service as auth_service
from phresh.auth.cookies import REFRESH_COOKIE, PhreshClientHeader, answer_tokens
from phresh.auth.dependencies import (
    ClientDep,
    CurrentSessionId,
    CurrentUser,
    Now,
    RateLimitsDep,
)
from phresh.auth.exceptions import InvalidToken, LoginRateLimited, RateLimited, SessionNotFound
from phresh.auth.router import NO_STORE
from phresh.auth.schemas import SessionRead
from phresh.db import ConnectionDep
from phresh.dependencies import CursorCodecDep, SettingsDep
from phresh.errors import Unauthorized, error_responses
from phresh.kit.pagination import Cursor, InvalidCursor, Limit, Page
from phresh.ratelimit import Action
from phresh.users import service as user_service
from phresh.users.exceptions import EmailTaken, UsernameTaken, UserNotFound, WrongPassword
from phresh.users.schemas import (
    AccountUpdate,
    PasswordChange,
    ProfileUpdate,
    PublicProfileRead,
    UserCreate,
    UserRead,
    UserRegistered,
)

router = APIRouter(tags=["users"])

AUTH_ERRORS = (Unauthorized, InvalidToken)


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(EmailTaken, UsernameTaken, RateLimited),
    summary="Register; answers with the new user and a session's tokens",
    description=(
        "Starts a session as a login does, and mails a link to verify the address (single "
        "use, 24 hours). Rate limited per client address and per email. With the header "
        "`X-Phresh-Client: web` (cookie mode, as at POST /auth/token) the refresh token is "
        f"set as the HttpOnly cookie `{REFRESH_COOKIE}` and the body's `refresh_token` is null."
    ),
)
async def register_user(
    response: Response,
    data: UserCreate,
    connection: ConnectionDep,
    settings: SettingsDep,
    limits: RateLimitsDep,
    client: ClientDep,
    now: Now,
    phresh_client: PhreshClientHeader = None,
) -> UserRegistered:
    await limits.hit(Action.register, address=client.counted_as, account=data.email)
    user, profile = await user_service.register_user(connection, data)
    await auth_service.send_verification(connection, user)
    tokens = await auth_service.start_session(connection, settings, user, client, now)
    response.headers.update(NO_STORE)
    token = answer_tokens(response, settings, tokens, now, web=phresh_client == "web")
    return UserRegistered(user=UserRead.of(user, profile), **token.model_dump())


@router.get(
    "/users/me",
    responses=error_responses(*AUTH_ERRORS, UserNotFound),
    summary="Your account and profile",
)
async def read_current_user(user: CurrentUser, connection: ConnectionDep) -> UserRead:
    return UserRead.of(user, await user_service.get_own_profile(connection, user))


@router.get(
    "/profiles/{username}",
    responses=error_responses(*AUTH_ERRORS, UserNotFound),
    summary="Someone's public profile",
)
async def read_profile(
    username: str, user: CurrentUser, connection: ConnectionDep
) -> PublicProfileRead:
    profile = await user_service.get_public_profile(connection, username)
    return PublicProfileRead(
        username=profile.username,
        full_name=profile.full_name,
        bio=profile.bio,
        image_url=profile.image_url,
    )


@router.patch(
    "/profiles/me",
    responses=error_responses(*AUTH_ERRORS, UserNotFound),
    summary="Update your profile; answers with your account and the new profile",
)
async def update_profile(
    data: ProfileUpdate, user: CurrentUser, connection: ConnectionDep
) -> UserRead:
    return UserRead.of(user, await user_service.update_profile(connection, user, data))


@router.patch(
    "/users/me",
    responses=error_responses(
        *AUTH_ERRORS, WrongPassword, EmailTaken, UserNotFound, LoginRateLimited
    ),
    summary="Change your email; needs your current password and mails a link to verify it",
    description="Attempts count against the login rate limit of your account.",
)
async def update_account(
    data: AccountUpdate,
    user: CurrentUser,
    connection: ConnectionDep,
    limits: RateLimitsDep,
    client: ClientDep,
) -> UserRead:
    await auth_service.count_login_attempt(limits, client, auth_service.login_account(user.id))
    changed = await user_service.change_email(
        connection, user, data.email, data.current_password.get_secret_value()
    )
    if changed is not user:
        await auth_service.send_verification(connection, changed)
    return UserRead.of(changed, await user_service.get_own_profile(connection, changed))


@router.post(
    "/users/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*AUTH_ERRORS, WrongPassword, LoginRateLimited),
    summary="Change your password; every other session ends",
    description="Attempts count against the login rate limit of your account.",
)
async def change_password(
    data: PasswordChange,
    user: CurrentUser,
    session_id: CurrentSessionId,
    connection: ConnectionDep,
    limits: RateLimitsDep,
    client: ClientDep,
    now: Now,
) -> Response:
    await auth_service.count_login_attempt(limits, client, auth_service.login_account(user.id))
    await auth_service.change_password(
        connection,
        user,
        data.current_password.get_secret_value(),
        data.new_password.get_secret_value(),
        session_id,
        now,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/users/me/sessions",
    responses=error_responses(*AUTH_ERRORS, InvalidCursor),
    summary="Your live sessions, newest first; the one of this token is marked current",
)
async def list_my_sessions(
    user: CurrentUser,
    session_id: CurrentSessionId,
    connection: ConnectionDep,
    codec: CursorCodecDep,
    now: Now,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[SessionRead]:
    return await auth_service.list_sessions(
        connection, codec, user.id, session_id, now=now, limit=limit, cursor=cursor
    )


@router.delete(
    "/users/me/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*AUTH_ERRORS, SessionNotFound),
    summary="End one of your sessions (this one included)",
)
async def revoke_my_session(
    session_id: uuid.UUID, user: CurrentUser, connection: ConnectionDep, now: Now
) -> Response:
    await auth_service.revoke_session(connection, user.id, session_id, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/users/me/sessions",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*AUTH_ERRORS),
    summary="End all your sessions but this one",
)
async def revoke_my_other_sessions(
    user: CurrentUser, current: CurrentSessionId, connection: ConnectionDep, now: Now
) -> Response:
    await auth_service.revoke_other_sessions(connection, user.id, current, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
