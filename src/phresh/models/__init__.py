"""The rows the repositories return (frozen dataclasses, one module per table) and the enums
of their columns. Plain Python: the schema itself is ``phresh.migrations.schema``."""

from phresh.models.account import (
    Mail,
    MailKind,
    MailStatus,
    Session,
    SessionEnd,
    TokenPurpose,
)
from phresh.models.cleaning import Cleaning, CleaningStatus, CleaningType
from phresh.models.evaluation import Evaluation
from phresh.models.event import Event, EventKind
from phresh.models.offer import Offer, OfferStatus
from phresh.models.profile import Profile
from phresh.models.user import User

__all__ = [
    "Cleaning",
    "CleaningStatus",
    "CleaningType",
    "Evaluation",
    "Event",
    "EventKind",
    "Mail",
    "MailKind",
    "MailStatus",
    "Offer",
    "OfferStatus",
    "Profile",
    "Session",
    "SessionEnd",
    "TokenPurpose",
    "User",
]
