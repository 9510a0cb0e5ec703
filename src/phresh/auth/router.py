from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from phresh.auth import service as auth_service
from phresh.auth.dependencies import LoginLimiterDep
from phresh.auth.exceptions import InvalidCredentials, LoginRateLimited
from phresh.auth.schemas import Token
from phresh.db import ConnectionDep
from phresh.dependencies import SettingsDep
from phresh.errors import error_responses

router = APIRouter(prefix="/auth", tags=["auth"])


@router.post(
    "/token",
    responses=error_responses(InvalidCredentials, LoginRateLimited),
    summary="Log in with a username or email and a password",
)
async def log_in(
    request: Request,
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    connection: ConnectionDep,
    settings: SettingsDep,
    limiter: LoginLimiterDep,
) -> Token:
    client = request.client.host if request.client else "unknown"
    limiter.hit(client, form.username)
    return await auth_service.log_in(connection, settings, form.username, form.password)
