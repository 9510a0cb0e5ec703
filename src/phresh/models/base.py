"""What the entities share: enum columns read back as their enum."""

import enum
from typing import TypeVar

E = TypeVar("E", bound=enum.StrEnum)


def members(enum_class: type[E]) -> dict[str, E]:
    """Each member of ``enum_class`` by its value: the column's text as the enum, at the cost
    of a dict lookup (calling the enum costs ten)."""
    return {member.value: member for member in enum_class}
