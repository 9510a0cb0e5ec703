from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    EmailStr,
    Field,
    HttpUrl,
    PlainValidator,
    SecretStr,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from phresh.auth.schemas import LinkToken, Token
from phresh.kit.schemas import MULTI_LINE, SINGLE_LINE, InputSchema, Schema
from phresh.models import Profile, User

# What a client may send; stored lower-case, which models.user.USERNAME_PATTERN checks.
USERNAME_INPUT_PATTERN = "^[A-Za-z0-9_-]{3,32}$"
PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128


def _lower(value: str) -> str:
    return value.lower()


def _text(value: Any) -> str:
    """A password's text: a string that UTF-8 can hold (JSON can carry a lone surrogate,
    which no hash can take)."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if not isinstance(value, str):
        raise PydanticCustomError("string_type", "Input should be a valid string")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise PydanticCustomError(
            "string_unicode", "Input should be a valid string: it holds a lone surrogate"
        ) from None
    return value


def _password(value: Any) -> SecretStr:
    """A password exactly as sent: no stripping, no character rule, length counted as is."""
    value = _text(value)
    if len(value) < PASSWORD_MIN_LENGTH:
        raise PydanticCustomError(
            "string_too_short",
            "String should have at least {min_length} characters",
            {"min_length": PASSWORD_MIN_LENGTH},
        )
    if len(value) > PASSWORD_MAX_LENGTH:
        raise PydanticCustomError(
            "string_too_long",
            "String should have at most {max_length} characters",
            {"max_length": PASSWORD_MAX_LENGTH},
        )
    return SecretStr(value)


# Path segments that mean "the caller" (/cleanings/{id}/offers/mine): a user of that name
# could not be addressed in those paths.
RESERVED_USERNAMES = frozenset({"mine"})


def _not_reserved(value: str) -> str:
    if value in RESERVED_USERNAMES:
        msg = f"{value!r} is reserved; choose another username"
        raise ValueError(msg)
    return value


Username = Annotated[
    str,
    Field(
        pattern=USERNAME_INPUT_PATTERN,
        min_length=3,
        max_length=32,
        description="3-32 of a-z, 0-9, '_' and '-'; stored lower-case; 'mine' is reserved.",
        examples=["jane_doe"],
    ),
    AfterValidator(_lower),
    AfterValidator(_not_reserved),
]


def _ascii_address(value: str) -> str:
    # An internationalised address needs SMTPUTF8 of every mail server on its way; most
    # refuse it, and a mail that can never arrive is worse than a clear 422 now.
    if not value.isascii():
        msg = "must be written in ASCII (an internationalised address cannot be mailed reliably)"
        raise ValueError(msg)
    return value


Email = Annotated[
    EmailStr,
    SINGLE_LINE,
    Field(max_length=254),
    AfterValidator(_ascii_address),
    AfterValidator(_lower),
]
Password = Annotated[
    SecretStr,
    PlainValidator(_password),
    WithJsonSchema(
        {
            "type": "string",
            "format": "password",
            "writeOnly": True,
            "minLength": PASSWORD_MIN_LENGTH,
            "maxLength": PASSWORD_MAX_LENGTH,
            "description": "10-128 characters, taken exactly as sent (spaces included).",
        }
    ),
]


def _current_password(value: Any) -> SecretStr:
    """The password an account has now: checked against its hash, so no length rule but a
    bound (a longer one cannot be right)."""
    value = _text(value)
    if not 1 <= len(value) <= PASSWORD_MAX_LENGTH:
        raise PydanticCustomError(
            "string_length",
            "String should have 1 to {max_length} characters",
            {"max_length": PASSWORD_MAX_LENGTH},
        )
    return SecretStr(value)


CurrentPassword = Annotated[
    SecretStr,
    PlainValidator(_current_password),
    WithJsonSchema(
        {
            "type": "string",
            "format": "password",
            "writeOnly": True,
            "minLength": 1,
            "maxLength": PASSWORD_MAX_LENGTH,
            "description": "The account's current password, exactly as set.",
        }
    ),
]
FullName = Annotated[str, Field(min_length=1, max_length=200), SINGLE_LINE]
PhoneNumber = Annotated[str, Field(pattern=r"^\+?[0-9 ()-]{3,32}$", max_length=32), SINGLE_LINE]
Bio = Annotated[str, Field(max_length=2000), MULTI_LINE]
ImageUrl = Annotated[HttpUrl, SINGLE_LINE, Field(max_length=2048)]


class UserCreate(InputSchema):
    username: Username
    email: Email
    password: Password
    full_name: FullName | None = None


class ProfileUpdate(InputSchema):
    full_name: FullName | None = None
    phone_number: PhoneNumber | None = None
    bio: Bio | None = None
    image_url: ImageUrl | None = None


class PublicProfileRead(Schema):
    username: str
    full_name: str | None
    bio: str | None
    image_url: str | None


class ProfileRead(Schema):
    """The owner's view of a profile, phone number included."""

    full_name: str | None
    phone_number: str | None
    bio: str | None
    image_url: str | None
    updated_at: datetime


class UserRead(Schema):
    id: int
    username: str
    email: str
    is_active: bool
    is_superuser: bool
    email_verified: bool
    created_at: datetime
    profile: ProfileRead

    @classmethod
    def of(cls, user: User, profile: Profile) -> "UserRead":
        return cls(
            id=user.id,
            username=user.username,
            email=user.email,
            is_active=user.is_active,
            is_superuser=user.is_superuser,
            email_verified=user.email_verified,
            created_at=user.created_at,
            profile=ProfileRead.model_validate(profile),
        )


class ForgotPassword(InputSchema):
    email: Email


class ResetPassword(InputSchema):
    token: LinkToken
    new_password: Password


class PasswordChange(InputSchema):
    current_password: CurrentPassword
    new_password: Password


class AccountUpdate(InputSchema):
    """A new email: unverified until the link mailed to it is followed."""

    email: Email
    current_password: CurrentPassword


class UserRegistered(Token):
    user: UserRead
