from typing import Annotated

from fastapi import APIRouter, Form, Response, status
from fastapi.exceptions import RequestValidationError

from phresh.auth import service as auth_service
from phresh.auth.cookies import (
    REFRESH_COOKIE,
    PhreshClientHeader,
    RefreshCookie,
    answer_tokens,
    clear_refresh_cookie,
    cleared_refresh_cookie,
)
from phresh.auth.dependencies import (
    ClientDep,
    CurrentSessionId,
    CurrentUser,
    Now,
    RateLimitsDep,
)
from phresh.auth.exceptions import (
    EmailAlreadyVerified,
    InvalidCredentials,
    InvalidLinkToken,
    InvalidRefreshToken,
    InvalidToken,
    LoginRateLimited,
    RateLimited,
)
from phresh.auth.schemas import Token, TokenRequest, VerifyEmail
from phresh.db import ConnectionDep
from phresh.dependencies import SettingsDep
from phresh.errors import Unauthorized, error_responses
from phresh.ratelimit import Action
from phresh.users.schemas import ForgotPassword, ResetPassword

router = APIRouter(prefix="/auth", tags=["auth"])

AUTH_ERRORS = (Unauthorized, InvalidToken)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post(
    "/token",
    responses=error_responses(InvalidCredentials, InvalidRefreshToken, LoginRateLimited),
    summary="Log in (password grant) or renew a session (refresh_token grant)",
    description=(
        "The OAuth2 token endpoint. `grant_type=password` with `username` (or an email) and "
        "`password` starts a session; `grant_type=refresh_token` with `refresh_token` renews "
        "one. Both answer an access token (a JWT carrying the session id `sid`, valid "
        "`expires_in` seconds, never past its session's end) and a new refresh token.\n\n"
        "Refresh tokens are opaque, single use and rotate: the one presented stops working. "
        "Presenting one that was already used ends the whole session (someone else holds a "
        "copy) and answers 401. A refresh token expires after `PHRESH_REFRESH_TOKEN_DAYS` "
        "(30) days unused (the idle limit); a session ends `PHRESH_SESSION_MAX_DAYS` (90) "
        "days after its login whatever its use (the absolute limit). Logins are rate limited "
        "per client address and per account (429 with Retry-After).\n\n"
        "**Cookie mode** (the web app): with the header `X-Phresh-Client: web`, the refresh "
        f"token is set as the cookie `{REFRESH_COOKIE}` (HttpOnly, SameSite=Strict, "
        "Path=/api/v1/auth, Secure outside development, Max-Age the token's remaining life) "
        "and the body's `refresh_token` is null: scripts never see it. A refresh grant with "
        "that header and no `refresh_token` field takes the cookie (the field wins when "
        "given); without the header the cookie is ignored. A refused cookie refresh (401) "
        "clears the cookie."
    ),
)
async def issue_token(
    response: Response,
    form: Annotated[TokenRequest, Form()],
    connection: ConnectionDep,
    settings: SettingsDep,
    limits: RateLimitsDep,
    client: ClientDep,
    now: Now,
    phresh_client: PhreshClientHeader = None,
    refresh_cookie: RefreshCookie = None,
) -> Token:
    # RFC 6749 5.1: an answer holding tokens is never cached.
    response.headers.update(NO_STORE)
    web = phresh_client == "web"
    from_cookie = (
        web
        and form.grant_type == "refresh_token"
        and form.refresh_token is None
        and refresh_cookie is not None
    )
    no_cookie = refresh_cookie is None and form.refresh_token is None
    if web and form.grant_type == "refresh_token" and no_cookie:
        # The web app asks at every start whether it still has a session: it has none.
        raise InvalidRefreshToken("No session: log in.")
    missing = [] if from_cookie else form.missing_fields()
    if missing:
        raise RequestValidationError(
            [
                {"loc": ("body", name), "type": "missing", "msg": "Field required"}
                for name in missing
            ]
        )
    if form.grant_type == "refresh_token":
        refresh_token = refresh_cookie if from_cookie else form.refresh_token
        assert refresh_token is not None  # missing_fields() said so
        try:
            tokens = await auth_service.refresh_session(
                connection, settings, refresh_token, client, now
            )
        except InvalidRefreshToken as exc:
            if from_cookie:
                # The browser drops a cookie that can no longer renew anything.
                exc.headers = {
                    **(exc.headers or {}),
                    "Set-Cookie": cleared_refresh_cookie(settings),
                }
            raise
    else:
        assert form.username is not None
        assert form.password is not None  # missing_fields() said so
        tokens = await auth_service.log_in(
            connection, settings, limits, form.username, form.password, client, now
        )
    return answer_tokens(response, settings, tokens, now, web=web)


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*AUTH_ERRORS),
    summary="End your session: its access and refresh tokens stop working at once",
    description=f"Also clears the web app's cookie `{REFRESH_COOKIE}` (Max-Age=0).",
)
async def log_out(
    session_id: CurrentSessionId, connection: ConnectionDep, settings: SettingsDep, now: Now
) -> Response:
    await auth_service.log_out(connection, session_id, now)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    clear_refresh_cookie(response, settings)
    return response


@router.post(
    "/verify-email",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(InvalidLinkToken),
    summary="Verify your email with the token of the link we mailed (single use, 24 hours)",
)
async def verify_email(data: VerifyEmail, connection: ConnectionDep, now: Now) -> Response:
    await auth_service.verify_email(connection, data.token, now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/verify-email/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    responses=error_responses(*AUTH_ERRORS, EmailAlreadyVerified, RateLimited),
    summary="Mail a new verification link to your address",
)
async def resend_verification(
    user: CurrentUser, connection: ConnectionDep, limits: RateLimitsDep, client: ClientDep
) -> Response:
    if user.email_verified:
        raise EmailAlreadyVerified(f"{user.email} is verified already.")
    await limits.hit(Action.verify_resend, address=client.counted_as, account=user.email)
    await auth_service.send_verification(connection, user)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/forgot-password",
    status_code=status.HTTP_202_ACCEPTED,
    response_class=Response,
    responses=error_responses(RateLimited),
    summary="Mail a password reset link to an account's address, if there is such an account",
    description=(
        "Always 202 with no body, in the same time whether an account uses the address or "
        "not: the lookup happens when the mail is delivered. The link's token works once, "
        "for one hour."
    ),
)
async def forgot_password(
    data: ForgotPassword, connection: ConnectionDep, limits: RateLimitsDep, client: ClientDep
) -> Response:
    await limits.hit(Action.forgot_password, address=client.counted_as, account=data.email)
    await auth_service.request_password_reset(connection, data.email)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/reset-password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(InvalidLinkToken),
    summary="Set a new password with the token of a reset link; every session ends",
)
async def reset_password(data: ResetPassword, connection: ConnectionDep, now: Now) -> Response:
    await auth_service.reset_password(
        connection, data.token, data.new_password.get_secret_value(), now
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
