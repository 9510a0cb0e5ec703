from pydantic import BaseModel, ConfigDict


class Schema(BaseModel):
    """Base of every response schema: built straight from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


class InputSchema(BaseModel):
    """Base of every request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
