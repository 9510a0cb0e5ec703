from dataclasses import dataclass
from datetime import datetime

USERNAME_PATTERN = "^[a-z0-9_-]{3,32}$"


@dataclass(frozen=True, slots=True)
class User:
    """A row of ``user``, as every repository returns one."""

    id: int
    username: str
    email: str
    password_hash: str
    is_active: bool
    is_superuser: bool
    email_verified: bool
    created_at: datetime
    updated_at: datetime
