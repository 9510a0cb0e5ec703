from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, EmailStr, Field, HttpUrl, SecretStr

from phresh.auth.schemas import Token
from phresh.kit.schemas import InputSchema, Schema
from phresh.models.user import USERNAME_PATTERN


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


def _max_254(value: str) -> str:
    if len(value) > 254:
        msg = "must be at most 254 characters"
        raise ValueError(msg)
    return value


Username = Annotated[
    str,
    BeforeValidator(_lower),
    Field(
        pattern=USERNAME_PATTERN,
        min_length=3,
        max_length=32,
        description="3-32 of a-z, 0-9, '_' and '-'; stored lower-case.",
        examples=["jane_doe"],
    ),
]
Email = Annotated[EmailStr, AfterValidator(_lower), AfterValidator(_max_254)]
Password = Annotated[
    SecretStr, Field(min_length=10, max_length=128, description="10-128 characters.")
]
FullName = Annotated[str, Field(min_length=1, max_length=200)]
PhoneNumber = Annotated[str, Field(pattern=r"^\+?[0-9 ()-]{3,32}$", max_length=32)]
Bio = Annotated[str, Field(max_length=2000)]


class UserCreate(InputSchema):
    username: Username
    email: Email
    password: Password
    full_name: FullName | None = None


class ProfileUpdate(InputSchema):
    full_name: FullName | None = None
    phone_number: PhoneNumber | None = None
    bio: Bio | None = None
    image_url: Annotated[HttpUrl, Field(max_length=2048)] | None = None


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


class UserRegistered(Token):
    user: UserRead
