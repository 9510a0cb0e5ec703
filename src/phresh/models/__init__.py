"""The schema (SQLAlchemy Core tables, for Alembic) and the rows the repositories return
(frozen dataclasses), one module per table."""

from phresh.models.base import metadata
from phresh.models.cleaning import Cleaning, CleaningStatus, CleaningType, cleaning_table
from phresh.models.evaluation import Evaluation, evaluation_table
from phresh.models.offer import Offer, OfferStatus, offer_table
from phresh.models.profile import Profile, profile_table
from phresh.models.user import User, user_table

__all__ = [
    "Cleaning",
    "CleaningStatus",
    "CleaningType",
    "Evaluation",
    "Offer",
    "OfferStatus",
    "Profile",
    "User",
    "cleaning_table",
    "evaluation_table",
    "metadata",
    "offer_table",
    "profile_table",
    "user_table",
]
