"""The schema's shared parts: one MetaData with naming conventions, timestamps, enum columns.

The tables are SQLAlchemy Core ``Table``\\ s for Alembic (migrations and the drift check)
only; the application reads and writes them in SQL (each domain's ``repository.py``).
"""

import enum
from typing import TypeVar

from sqlalchemy import CheckConstraint, Column, DateTime, Enum, MetaData, func

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


def timestamps() -> tuple[Column[object], Column[object]]:
    """``created_at``/``updated_at``, kept by the database (a default and the
    ``set_updated_at`` trigger), whatever a writer sends."""
    return (
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


def varchar_enum(enum_class: type[enum.StrEnum]) -> Enum:
    """A plain varchar (with a CHECK from ``one_of``) rather than a PostgreSQL ENUM: new
    values need no ALTER TYPE dance in a migration."""
    return Enum(
        enum_class,
        native_enum=False,
        create_constraint=False,
        length=16,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )


E = TypeVar("E", bound=enum.StrEnum)


def members(enum_class: type[E]) -> dict[str, E]:
    """Each member of ``enum_class`` by its value: the column's text as the enum, at the cost
    of a dict lookup (calling the enum costs ten)."""
    return {member.value: member for member in enum_class}


def one_of(column: str, enum_class: type[enum.StrEnum]) -> CheckConstraint:
    """The CHECK of an enum column, named ``<column>_valid``."""
    values = ", ".join(repr(member.value) for member in enum_class)
    return CheckConstraint(f"{column} IN ({values})", name=f"{column}_valid")
