"""What repositories share: turning a constraint violation into something a service can read."""

from sqlalchemy.exc import IntegrityError


class ConstraintViolation(Exception):
    """A write broke a database constraint; ``constraint`` names it (None if unknown)."""

    def __init__(self, constraint: str | None) -> None:
        super().__init__(constraint)
        self.constraint = constraint


def violated_constraint(exc: IntegrityError) -> str | None:
    # asyncpg's exception, wrapped by SQLAlchemy's adapter, knows the constraint's name.
    cause = getattr(exc.orig, "__cause__", None)
    name = getattr(cause, "constraint_name", None)
    return name if isinstance(name, str) else None
