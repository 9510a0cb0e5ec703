from datetime import datetime

from pydantic import AliasPath, Field

from phresh.kit.schemas import Schema
from phresh.models import OfferStatus


class OfferRead(Schema):
    cleaning_id: int
    cleaner: str = Field(validation_alias=AliasPath("cleaner", "username"))
    status: OfferStatus
    created_at: datetime
    updated_at: datetime
