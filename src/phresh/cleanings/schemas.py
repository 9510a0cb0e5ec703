from datetime import datetime
from decimal import Decimal
from typing import Annotated, Self

from pydantic import AfterValidator, AliasPath, Field, PlainSerializer, model_validator

from phresh.kit.schemas import InputSchema, Schema
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

    @model_validator(mode="after")
    def refuse_nulls(self) -> Self:
        # Absent means "leave as is"; an explicit null would mean "erase", which no field allows.
        nulls = [name for name in self.model_fields_set if getattr(self, name) is None]
        if nulls:
            msg = f"may be omitted but not null: {', '.join(sorted(nulls))}"
            raise ValueError(msg)
        return self


class CleaningRead(Schema):
    id: int
    owner: str = Field(validation_alias=AliasPath("owner", "username"))
    name: str
    description: str
    cleaning_type: CleaningType
    price: PriceOut
    status: CleaningStatus
    created_at: datetime
    updated_at: datetime
