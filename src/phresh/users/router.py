from fastapi import APIRouter, status

from phresh.auth import service as auth_service
from phresh.auth.dependencies import CurrentUser
from phresh.auth.exceptions import InvalidToken
from phresh.db import ConnectionDep
from phresh.dependencies import SettingsDep
from phresh.errors import Unauthorized, error_responses
from phresh.users import service as user_service
from phresh.users.exceptions import EmailTaken, UsernameTaken, UserNotFound
from phresh.users.schemas import (
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
    responses=error_responses(EmailTaken, UsernameTaken),
    summary="Register; answers with the new user and an access token",
)
async def register_user(
    data: UserCreate, connection: ConnectionDep, settings: SettingsDep
) -> UserRegistered:
    user, profile = await user_service.register_user(connection, data)
    token = auth_service.create_access_token(settings, user.id)
    return UserRegistered(
        user=UserRead.of(user, profile),
        access_token=token.access_token,
        expires_in=token.expires_in,
    )


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
