import enum
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    AliasChoices,
    AliasPath,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from phresh.kit.schemas import InputSchema, Schema, refuse_nul
from phresh.models.cleaning import CleaningStatus, CleaningType

CENT = Decimal("0.01")


def _two_places(value: Decimal) -> Decimal:
    return value.quantize(CENT)


Price = Annotated[
    Decimal,
    Field(
        ge=CENT,
        le=Decimal("99999999.99"),
        max_digits=10,
        decimal_places=2,
        description="Hourly rate, 0.01-99,999,999.99, at most 2 decimals; a string or number.",
        examples=["25.00"],
    ),
    AfterValidator(_two_places),
]
# Out as a string so no client loses a cent to binary floating point.
PriceOut = Annotated[Decimal, PlainSerializer(lambda v: f"{v:.2f}", return_type=str)]
Name = Annotated[str, Field(min_length=1, max_length=200, examples=["Spring clean, 3 rooms"])]
Description = Annotated[str, Field(max_length=5000)]


class CleaningCreate(InputSchema):
    name: Name
    description: Description = ""
    cleaning_type: CleaningType = CleaningType.spot_clean
    price: Price


class CleaningUpdate(InputSchema):
    name: Name | None = None
    description: Description | None = None
    cleaning_type: CleaningType | None = None
    price: Price | None = None

    @field_validator("name", "description", "cleaning_type", "price", mode="before")
    @classmethod
    def refuse_null(cls, value: object) -> object:
        # Absent means "leave as is"; an explicit null would mean "erase", which no field allows.
        if value is None:
            msg = "may be omitted but not null"
            raise ValueError(msg)
        return value


class CleaningRead(Schema):
    id: int
    # From an ORM Cleaning (owner.username) or from a plain SQL row (owner).
    owner: str = Field(validation_alias=AliasChoices(AliasPath("owner", "username"), "owner"))
    name: str
    description: str
    cleaning_type: CleaningType
    price: PriceOut
    status: CleaningStatus
    created_at: datetime
    updated_at: datetime


class CleaningSort(enum.StrEnum):
    newest = "newest"
    price = "price"
    relevance = "relevance"


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class CleaningListQuery(BaseModel):
    """Query parameters of ``GET /cleanings``; unknown parameters are a 422, not ignored."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("q", "owner", "cursor", mode="before")
    @classmethod
    def _refuse_nul(cls, value: object) -> object:
        return refuse_nul(value)

    cleaning_type: CleaningType | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    q: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=16_384,
            description='Full-text search (web-search syntax: words, "phrases", -not, or).',
        ),
    ] = None
    owner: Annotated[str | None, BeforeValidator(_lower), Field(max_length=32)] = None
    sort: Annotated[
        CleaningSort | None,
        Field(description="newest (default), price, or relevance (default when q is given)."),
    ] = None
    limit: Annotated[int, Field(ge=1, le=100, description="Page size, 1-100.")] = 20
    cursor: Annotated[str | None, Field(max_length=512)] = None
    with_count: bool = False

    @model_validator(mode="after")
    def check_consistency(self) -> Self:
        if (
            self.min_price is not None
            and self.max_price is not None
            and self.min_price > self.max_price
        ):
            msg = "min_price must not exceed max_price"
            raise ValueError(msg)
        if self.sort == CleaningSort.relevance and not self.q:
            msg = "sort=relevance needs a search query q"
            raise ValueError(msg)
        return self

    @property
    def effective_sort(self) -> CleaningSort:
        if self.sort is not None:
            return self.sort
        return CleaningSort.relevance if self.q else CleaningSort.newest

    def cursor_scope(self) -> str:
        """What a cursor is bound to: the sort and every filter, so it cannot be replayed
        against another listing."""
        filters = self.model_dump(
            mode="json", exclude={"limit", "cursor", "with_count", "sort"}, exclude_none=True
        )
        return f"cleanings:{self.effective_sort}:{sorted(filters.items())}"
