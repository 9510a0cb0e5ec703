from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


def refuse_nul(value: Any) -> Any:
    """PostgreSQL text cannot hold U+0000: refuse it here, on the field, as a 422."""
    if isinstance(value, str) and "\x00" in value:
        msg = "must not contain NUL (U+0000) characters"
        raise ValueError(msg)
    return value


class Schema(BaseModel):
    """Base of every response schema: built straight from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


class InputSchema(BaseModel):
    """Base of every request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        return refuse_nul(value)
