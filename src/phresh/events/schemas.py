from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from pydantic import Field, GetJsonSchemaHandler, Json
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from phresh.kit.schemas import Schema
from phresh.models import EventKind


class EventData(Schema):
    """Enough for a toast: "alice offered on 'Kitchen deep clean'"."""

    cleaning_id: int
    cleaning_name: str
    by: str = Field(description="The username of who did it.")


class EventRead(Schema):
    """One event, as the ``data`` of its message in the stream."""

    id: int
    kind: EventKind
    cleaning_id: int | None
    data: EventData
    created_at: datetime


@dataclass(frozen=True, slots=True)
class JsonText:
    """``Annotated`` metadata of a ``Json[Model]`` field: the schema is the string that holds
    the JSON (``contentMediaType``, ``contentSchema``) in responses too, where pydantic
    would describe the decoded model."""

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        inner = handler(schema)
        if "contentSchema" in inner:  # pydantic's own, for validation
            return inner
        return {"type": "string", "contentMediaType": "application/json", "contentSchema": inner}


class StreamedEvent(Schema):
    """One message of the stream, field by field: `id:`, `event:` and `data:` (a stream's
    schema describes each of its messages, as OpenAPI 3.2 reads it)."""

    id: Annotated[str, Field(pattern=r"^[0-9]+$", description="The event's id.")]
    event: EventKind
    data: Annotated[Json[EventRead], JsonText()]
