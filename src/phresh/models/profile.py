from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Profile:
    """A row of ``profile`` with its user's username."""

    user_id: int
    username: str
    full_name: str | None
    phone_number: str | None
    bio: str | None
    image_url: str | None
    created_at: datetime
    updated_at: datetime
