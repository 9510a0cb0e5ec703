import enum
import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from phresh.cleanings import search
from phresh.kit.schemas import (
    MULTI_LINE,
    NOT_NULL,
    SINGLE_LINE,
    InputSchema,
    Schema,
)
from phresh.models.cleaning import CleaningStatus, CleaningType

CENT = Decimal("0.01")
MAX_PRICE = Decimal("99999999.99")
PRICE_DESCRIPTION = (
    'Hourly rate, 0.01-99,999,999.99, at most 2 decimals: a string such as "25.00" '
    "(plain digits, no sign or exponent) or a JSON number."
)
# A price as a string: 1-8 digits without leading zeros (or a single 0), then up to 2
# decimals, and not zero.
PRICE_STRING_PATTERN = r"^(?:[1-9][0-9]{0,7}(?:\.[0-9]{1,2})?|0\.(?:0[1-9]|[1-9][0-9]?))$"
_PRICE_STRING = re.compile(PRICE_STRING_PATTERN)


def _price_in(value: object) -> object:
    """What a price may arrive as: a string in plain notation, or a JSON number."""
    if isinstance(value, bool):
        raise PydanticCustomError("decimal_type", "Input should be a number or a string")
    if isinstance(value, str) and not _PRICE_STRING.match(value):
        raise PydanticCustomError(
            "decimal_parsing",
            "must be a positive amount with at most 2 decimals, such as 25 or 25.50",
        )
    return value


def _two_places(value: Decimal) -> Decimal:
    return value.quantize(CENT)


Price = Annotated[
    Decimal,
    Field(ge=CENT, le=MAX_PRICE, max_digits=10, decimal_places=2),
    BeforeValidator(_price_in),
    AfterValidator(_two_places),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": PRICE_STRING_PATTERN},
                {
                    "type": "number",
                    "minimum": float(CENT),
                    "maximum": float(MAX_PRICE),
                    "multipleOf": float(CENT),
                },
            ],
            "description": PRICE_DESCRIPTION,
            "examples": ["25.00"],
        },
        mode="validation",
    ),
]
# Out as a string so no client loses a cent to binary floating point.
PriceOut = Annotated[
    Decimal,
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^[0-9]{1,8}\.[0-9]{2}$",
            "description": "Hourly rate with exactly 2 decimals.",
            "examples": ["25.00"],
        },
        mode="serialization",
    ),
]
Name = Annotated[
    str, Field(min_length=1, max_length=200, examples=["Spring clean, 3 rooms"]), SINGLE_LINE
]
Description = Annotated[str, Field(max_length=5000), MULTI_LINE]


def field_error(field: str, error_type: str, message: str, value: object) -> ValidationError:
    """A validation error on ``field``, for a rule that looks at several fields at once."""
    return ValidationError.from_exception_data(
        "CleaningListQuery",
        [
            InitErrorDetails(
                type=PydanticCustomError(error_type, message), loc=(field,), input=value
            )
        ],
    )


class CleaningCreate(InputSchema):
    name: Name
    description: Description = ""
    cleaning_type: CleaningType = CleaningType.spot_clean
    price: Price


class CleaningUpdate(InputSchema):
    """Each field may be left out (it stays as is) but not set to null."""

    name: Annotated[Name | None, NOT_NULL] = None
    description: Annotated[Description | None, NOT_NULL] = None
    cleaning_type: Annotated[CleaningType | None, NOT_NULL] = None
    price: Annotated[Price | None, NOT_NULL] = None

    @field_validator("name", "description", "cleaning_type", "price", mode="before")
    @classmethod
    def refuse_null(cls, value: object) -> object:
        # Absent means "leave as is"; an explicit null would mean "erase", which no field allows.
        if value is None:
            raise PydanticCustomError("null_refused", "may be left out but not null")
        return value


class CleaningRead(Schema):
    id: int
    owner: str
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

    # Control characters in any query parameter are refused before this model is built
    # (kit.query.ParameterGuard).
    model_config = ConfigDict(extra="forbid")

    cleaning_type: CleaningType | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    q: Annotated[
        str | None,
        Field(
            min_length=1,
            max_length=search.MAX_LENGTH,
            description=(
                'Full-text search, web-search syntax: words, "a phrase", -word (not), or '
                f"between two terms. At most {search.MAX_LENGTH} characters and "
                f'{search.MAX_WORDS} words ("e-mail" is two), and each part joined by "or" '
                "needs a word that is not negated; beyond that a 422. Other punctuation "
                "only separates words; a query with no word in it (or only stop words such "
                'as "the") finds nothing.'
            ),
        ),
        AfterValidator(search.check),
    ] = None
    owner: Annotated[str | None, Field(max_length=32), SINGLE_LINE, BeforeValidator(_lower)] = None
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
            raise field_error(
                "min_price", "price_range", "must not exceed max_price", self.min_price
            )
        if self.sort == CleaningSort.relevance and not self.q:
            raise field_error(
                "sort", "sort_needs_q", "relevance needs a search text in q", self.sort.value
            )
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
