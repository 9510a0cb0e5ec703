"""Cookie mode, for the web app: its refresh token in an HttpOnly cookie, never in a body.

The web app asks for it with the header ``X-Phresh-Client: web``. Another site's page cannot
send that header (no form can, and this API answers no CORS preflight that would let a script
add it, but for the origins PHRESH_CORS_ORIGINS names), so only the web app's own scripts get
cookie mode; SameSite=Strict keeps the browser
from sending the cookie with another site's requests too. Its path is that of the auth
endpoints: no other request carries it.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Cookie, Header, Response

from phresh.auth.schemas import Token
from phresh.auth.service import SessionTokens
from phresh.config import Settings

REFRESH_COOKIE = "phresh_refresh"
REFRESH_COOKIE_PATH = "/api/v1/auth"

PhreshClientHeader = Annotated[
    Literal["web"] | None,
    Header(
        alias="X-Phresh-Client",
        description=(
            "`web`: cookie mode, for the web app. The refresh token is set as the cookie "
            f"`{REFRESH_COOKIE}` (HttpOnly, SameSite=Strict, Path={REFRESH_COOKIE_PATH}, "
            "Secure outside development, living as long as the token) and the body's "
            "`refresh_token` is null."
        ),
    ),
]
RefreshCookie = Annotated[
    str | None,
    Cookie(
        alias=REFRESH_COOKIE,
        description=(
            "The web app's refresh token, as cookie mode set it. Read only with "
            "`X-Phresh-Client: web`, by a refresh grant whose form has no `refresh_token`."
        ),
    ),
]


def _attributes(settings: Settings) -> dict[str, Any]:
    return {
        "path": REFRESH_COOKIE_PATH,
        "httponly": True,
        "samesite": "strict",
        # A browser keeps a Secure cookie from plain http://, which development serves.
        "secure": settings.environment != "development",
    }


def set_refresh_cookie(
    response: Response, settings: Settings, refresh_token: str, expires_at: datetime, now: datetime
) -> None:
    max_age = max(0, int((expires_at - now).total_seconds()))
    response.set_cookie(REFRESH_COOKIE, refresh_token, max_age=max_age, **_attributes(settings))


def clear_refresh_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(REFRESH_COOKIE, **_attributes(settings))


def cleared_refresh_cookie(settings: Settings) -> str:
    """The Set-Cookie header that clears the cookie, for an error's answer."""
    response = Response()
    clear_refresh_cookie(response, settings)
    return response.headers["set-cookie"]


def answer_tokens(
    response: Response, settings: Settings, tokens: SessionTokens, now: datetime, *, web: bool
) -> Token:
    """What a login, a refresh or a registration answers. In cookie mode the refresh token
    goes into the cookie and the body carries null in its place."""
    refresh_token = tokens.token.refresh_token
    if not web or refresh_token is None:
        return tokens.token
    set_refresh_cookie(response, settings, refresh_token, tokens.refresh_expires_at, now)
    return tokens.token.model_copy(update={"refresh_token": None})
