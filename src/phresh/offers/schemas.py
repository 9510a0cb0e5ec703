from datetime import datetime

from phresh.cleanings.schemas import PriceOut
from phresh.kit.schemas import Schema
from phresh.models import CleaningStatus, OfferStatus


class OfferRead(Schema):
    cleaning_id: int
    cleaner: str
    status: OfferStatus
    created_at: datetime
    updated_at: datetime


class OfferedCleaning(Schema):
    """What a cleaner needs to know of a cleaning they offered on."""

    id: int
    name: str
    price: PriceOut
    status: CleaningStatus
    owner: str


class MyOfferRead(Schema):
    """One of the caller's own offers, with its cleaning (``GET /users/me/offers``)."""

    cleaning_id: int
    status: OfferStatus
    created_at: datetime
    updated_at: datetime
    cleaning: OfferedCleaning
