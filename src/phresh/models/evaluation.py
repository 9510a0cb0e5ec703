from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Evaluation:
    """A row of ``evaluation`` with its cleaner's username."""

    cleaning_id: int
    cleaner_id: int
    cleaner: str
    no_show: bool
    headline: str | None
    comment: str | None
    professionalism: int | None
    completeness: int | None
    efficiency: int | None
    overall_rating: int
    created_at: datetime
    updated_at: datetime
