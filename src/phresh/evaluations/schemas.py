from datetime import datetime
from typing import Annotated

from pydantic import BeforeValidator, Field

from phresh.kit.schemas import MULTI_LINE, SINGLE_LINE, InputSchema, Schema


def _whole_number(value: object) -> object:
    # JSON Schema counts 4.0 as an integer, as the document's "type: integer" says: accept it.
    # 4.5, "4" and true stay refused by the strict integer check.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


Rating = Annotated[
    int,
    Field(ge=0, le=5, strict=True, description="Whole stars, 0-5."),
    BeforeValidator(_whole_number),
]


class EvaluationCreate(InputSchema):
    no_show: bool = False
    headline: Annotated[str, Field(max_length=200), SINGLE_LINE] | None = None
    comment: Annotated[str, Field(max_length=5000), MULTI_LINE] | None = None
    professionalism: Rating | None = None
    completeness: Rating | None = None
    efficiency: Rating | None = None
    overall_rating: Rating


class EvaluationRead(Schema):
    cleaning_id: int
    cleaner: str
    no_show: bool
    headline: str | None
    comment: str | None
    professionalism: int | None
    completeness: int | None
    efficiency: int | None
    overall_rating: int
    created_at: datetime


class EvaluationStats(Schema):
    username: str
    total: int
    no_shows: int
    avg_professionalism: float | None
    avg_completeness: float | None
    avg_efficiency: float | None
    avg_overall_rating: float | None
    min_overall_rating: int | None
    max_overall_rating: int | None
    stars: dict[int, int] = Field(
        description="How many evaluations gave 0, 1, 2, 3, 4 and 5 stars (keys '0'-'5')."
    )
