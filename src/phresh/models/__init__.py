"""Every ORM class, imported here so the metadata is complete for Alembic."""

from phresh.models.base import Base
from phresh.models.cleaning import Cleaning, CleaningStatus, CleaningType
from phresh.models.evaluation import Evaluation
from phresh.models.offer import Offer, OfferStatus
from phresh.models.profile import Profile
from phresh.models.user import User

__all__ = [
    "Base",
    "Cleaning",
    "CleaningStatus",
    "CleaningType",
    "Evaluation",
    "Offer",
    "OfferStatus",
    "Profile",
    "User",
]
