"""Schema bases, and the rules text input follows.

Every text field of a request body says which text it takes, with ``SINGLE_LINE`` or
``MULTI_LINE`` in its ``Annotated`` metadata: C0 and C1 control characters (U+0000-U+001F,
U+007F-U+009F) are refused with a 422 naming the field, except that multi-line text may hold
tab, line feed and CR LF. The rule is also written into the JSON Schema as a ``pattern``, so
the OpenAPI document says what the server accepts. Passwords are taken byte for byte
(``users.schemas.Password``): they are hashed, never stored or shown.
"""

import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

# JSON Schema patterns (ECMA-262 and Python agree on these). CR is allowed only before LF.
SINGLE_LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
MULTI_LINE_PATTERN = r"^(?:[^\x00-\x08\x0b-\x1f\x7f-\x9f]|\r\n)*$"

_SINGLE_LINE_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MULTI_LINE_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")


def control_character_error(value: str, *, multiline: bool) -> PydanticCustomError | None:
    """The error for the first control character ``value`` may not hold, or None."""
    forbidden = _MULTI_LINE_FORBIDDEN if multiline else _SINGLE_LINE_FORBIDDEN
    found = forbidden.search(value)
    if found is None:
        return None
    allowed = " other than tab, line feed and CR LF" if multiline else ""
    # The code point and its position help the sender find it; the text itself is not echoed.
    return PydanticCustomError(
        "control_character",
        "must not contain control characters{allowed}: U+{code_point} at position {position}",
        {
            "allowed": allowed,
            "code_point": f"{ord(found.group()[0]):04X}",
            "position": found.start() + 1,
        },
    )


@dataclass(frozen=True, slots=True)
class Text:
    """``Annotated`` metadata of a text input: which control characters it may hold."""

    multiline: bool = False

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_before_validator_function(self._check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        # A field with a pattern of its own (username, phone) already admits no control character.
        json_schema.setdefault(
            "pattern", MULTI_LINE_PATTERN if self.multiline else SINGLE_LINE_PATTERN
        )
        return json_schema

    def _check(self, value: Any) -> Any:
        if isinstance(value, str):
            error = control_character_error(value, multiline=self.multiline)
            if error is not None:
                raise error
        return value


SINGLE_LINE = Text()
MULTI_LINE = Text(multiline=True)


def without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` without its ``{"type": "null"}`` branch (a lone other branch inlined)."""
    branches = schema.get("anyOf")
    if not isinstance(branches, list):
        return schema
    kept = [branch for branch in branches if branch != {"type": "null"}]
    rest = {key: value for key, value in schema.items() if key != "anyOf"}
    if len(kept) == 1:
        return {**kept[0], **rest}
    return {**rest, "anyOf": kept}


def _drop_null(schema: dict[str, Any]) -> None:
    # Left out means "unchanged": the default is no value, not null.
    if schema.get("default", ...) is None:
        del schema["default"]
    replaced = without_null(schema)
    schema.clear()
    schema.update(replaced)


# For a field of a partial update that may be left out but not set to null (the model
# refuses null itself): the schema says so, while validation stays pydantic's plain
# optional field, whose errors name the field alone.
NOT_NULL = Field(json_schema_extra=_drop_null)


class Schema(BaseModel):
    """Base of every response schema: built straight from ORM objects."""

    model_config = ConfigDict(from_attributes=True)


class InputSchema(BaseModel):
    """Base of every request body: unknown fields are an error, not silently dropped.

    Text is stripped of surrounding whitespace, except where a type validates its input
    itself (passwords).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
