"""The two pages the links of Phresh's mails open when PHRESH_PUBLIC_URL is this server.

Opening a link changes nothing (mail scanners open links too): the page shows one button
(verify) or one field (the new password) whose form posts the link's token back. Plain HTML,
no script, nothing from elsewhere; the API endpoints do the work (POST /api/v1/auth/...).
"""

from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, Literal

from fastapi import APIRouter, Form, Query
from fastapi.responses import HTMLResponse
from pydantic import SecretStr, TypeAdapter, ValidationError

from phresh.auth import service as auth_service
from phresh.auth.dependencies import Now
from phresh.auth.exceptions import InvalidLinkToken
from phresh.db import ConnectionDep
from phresh.kit.schemas import SINGLE_LINE
from phresh.users.schemas import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, Password

if TYPE_CHECKING:
    from jinja2 import Environment

router = APIRouter(include_in_schema=False)

# The page allows nothing but itself: no script, no style, forms posted to this server.
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; form-action 'self'; frame-ancestors 'none'",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
}
# The API's own rule for a new password.
PASSWORD: TypeAdapter[SecretStr] = TypeAdapter(Password)
PageToken = Annotated[str, Query(max_length=128), SINGLE_LINE]
FormToken = Annotated[str, Form(max_length=128), SINGLE_LINE]


@lru_cache(maxsize=1)
def _environment() -> "Environment":
    # Loaded with the first page: most servers never show one.
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(
        loader=PackageLoader("phresh.auth", "templates"),
        autoescape=select_autoescape(default=True),
    )


def _page(
    title: str,
    *,
    message: str = "",
    form: Literal["verify", "reset", ""] = "",
    token: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    html = (
        _environment()
        .get_template("page.html")
        .render(
            title=title,
            message=message,
            form=form,
            token=token,
            min_length=PASSWORD_MIN_LENGTH,
            max_length=PASSWORD_MAX_LENGTH,
        )
    )
    return HTMLResponse(html, status_code=status_code, headers=HEADERS)


@router.get("/verify-email")
async def verify_email_page(token: PageToken) -> HTMLResponse:
    return _page("Verify your email", form="verify", token=token)


@router.post("/verify-email")
async def verify_email_form(token: FormToken, connection: ConnectionDep, now: Now) -> HTMLResponse:
    try:
        await auth_service.verify_email(connection, token, now)
    except InvalidLinkToken as exc:
        return _page("Link not valid", message=exc.detail, status_code=400)
    return _page("Email verified", message="Thank you: your email address is verified.")


@router.get("/reset-password")
async def reset_password_page(token: PageToken) -> HTMLResponse:
    return _page("Choose a new password", form="reset", token=token)


@router.post("/reset-password")
async def reset_password_form(
    token: FormToken,
    new_password: Annotated[str, Form()],
    connection: ConnectionDep,
    now: Now,
) -> HTMLResponse:
    try:
        password = PASSWORD.validate_python(new_password)
    except ValidationError:
        message = f"A password has {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters."
        return _page(
            "Choose a new password", message=message, form="reset", token=token, status_code=422
        )
    try:
        await auth_service.reset_password(connection, token, password.get_secret_value(), now)
    except InvalidLinkToken as exc:
        return _page("Link not valid", message=exc.detail, status_code=400)
    return _page(
        "Password changed",
        message="Your password is changed and every session has ended: log in again.",
    )
