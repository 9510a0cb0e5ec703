from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from phresh.auth import service as auth_service
from phresh.auth.exceptions import InvalidToken
from phresh.db import ConnectionDep
from phresh.errors import Unauthorized
from phresh.models import User
from phresh.users import service as user_service

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_current_user(
    request: Request,
    connection: ConnectionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> User:
    if token is None:
        raise Unauthorized("Authentication required: send 'Authorization: Bearer <token>'.")
    reader: auth_service.TokenReader = request.app.state.token_reader
    user_id = reader.user_id(token)
    user = await user_service.get_active_user(connection, user_id)
    if user is None:
        raise InvalidToken("The account behind this token no longer exists or is disabled.")
    return user


async def get_login_limiter(request: Request) -> auth_service.LoginRateLimiter:
    limiter: auth_service.LoginRateLimiter = request.app.state.login_limiter
    return limiter


CurrentUser = Annotated[User, Depends(get_current_user)]
LoginLimiterDep = Annotated[auth_service.LoginRateLimiter, Depends(get_login_limiter)]
