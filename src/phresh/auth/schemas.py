import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from phresh.kit.schemas import SINGLE_LINE, InputSchema, Schema
from phresh.models import Session


class Token(Schema):
    """What a login, a refresh and a registration answer (RFC 6749 section 5.1)."""

    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int = Field(description="Seconds the access token stays valid.")
    refresh_token: str | None = Field(
        description="Opaque; trade it at POST /auth/token (grant_type=refresh_token) for a new "
        "pair. Each works once: a used one presented again ends its session. Null when the "
        "request said `X-Phresh-Client: web`: the token is then in the HttpOnly cookie "
        "`phresh_refresh` instead, out of reach of scripts.",
    )


# Tokens this API issues are 43 characters; the bound only keeps junk short.
LinkToken = Annotated[str, Field(min_length=1, max_length=128), SINGLE_LINE]
FormText = Annotated[str, Field(max_length=1024), SINGLE_LINE]


class TokenRequest(InputSchema):
    """The token endpoint's form: the password grant (RFC 6749 4.3) or the refresh grant
    (section 6). ``scope``, ``client_id`` and ``client_secret`` are accepted, as OAuth2
    clients send them, and not used."""

    grant_type: Literal["password", "refresh_token"] = "password"
    username: FormText | None = Field(
        default=None, description="Username or email (password grant)."
    )
    # Taken exactly as sent, like every password.
    password: Annotated[str, Field(max_length=1024)] | None = Field(
        default=None, description="Password grant.", json_schema_extra={"format": "password"}
    )
    refresh_token: LinkToken | None = Field(default=None, description="Refresh grant.")
    scope: FormText = ""
    client_id: FormText | None = None
    client_secret: FormText | None = None

    model_config = InputSchema.model_config | {"str_strip_whitespace": False}

    def missing_fields(self) -> list[str]:
        """The fields its grant needs that the form left out."""
        needed = ("username", "password") if self.grant_type == "password" else ("refresh_token",)
        return [name for name in needed if getattr(self, name) is None]


class SessionRead(Schema):
    id: uuid.UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime = Field(description="The absolute end of the session.")
    user_agent: str | None
    client_address: str | None
    current: bool = Field(description="Whether this is the session of the calling token.")

    @classmethod
    def of(cls, session: Session, *, current: bool) -> "SessionRead":
        return cls(
            id=session.id,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            expires_at=session.expires_at,
            user_agent=session.user_agent,
            client_address=session.client_address,
            current=current,
        )


class VerifyEmail(InputSchema):
    token: LinkToken
