"""What repositories share: SQL with numbered parameters, rows as entities, constraints.

Repositories run SQL on the request's pooled asyncpg connection (``phresh.db.Connection``)
and return frozen dataclasses (``phresh.models``); every database error reaches the one
mapping in ``phresh.errors``.
"""

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

import asyncpg


class ConstraintViolation(Exception):
    """A write broke a database constraint; ``constraint`` names it (None if unknown)."""

    def __init__(self, constraint: str | None) -> None:
        super().__init__(constraint)
        self.constraint = constraint


@contextmanager
def constraints_named() -> Iterator[None]:
    """A broken constraint inside the block becomes a ConstraintViolation naming it, for
    the service to turn into the domain's error."""
    try:
        yield
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise ConstraintViolation(exc.constraint_name) from exc


class SqlBuilder:
    """SQL with numbered parameters, assembled from fixed fragments.

    Only constants of the calling module are spliced into the text; every value a client
    sent becomes a parameter (``$1``, ``$2`` ...), in ``params``' order.
    """

    def __init__(self, *params: Any) -> None:
        self.params: list[Any] = list(params)

    def param(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}"

    def row(self, *values: Any) -> str:
        """A row of parameters, ``($n, $m, ...)``: a keyset's position in a row comparison."""
        return f"({', '.join(self.param(value) for value in values)})"

    def assignments(self, changes: Mapping[str, Any], columns: frozenset[str]) -> str:
        """The SET list of an UPDATE: ``column = $n`` for each of ``changes``, whose keys
        are spliced as column names and so must be among ``columns``."""
        unknown = changes.keys() - columns
        if unknown:
            raise ValueError(sorted(unknown))  # a bug: only the schema's fields come here
        return ", ".join(f"{column} = {self.param(value)}" for column, value in changes.items())


T = TypeVar("T")


def select_list(entity: type[Any], alias: str, **expressions: str) -> str:
    """The SELECT list of ``entity``'s fields, in their order: ``alias.field``, or the SQL
    given for a field (``owner="u.username"``). A row of it builds the entity by position
    (``one``, ``each``), which costs a third of building it by name."""
    return ", ".join(
        f"{expressions[field.name]} AS {field.name}"
        if field.name in expressions
        else f"{alias}.{field.name}"
        for field in dataclasses.fields(entity)
    )


def one(entity: Callable[..., T], record: asyncpg.Record | None) -> T | None:
    """``record`` (a row of ``select_list(entity, ...)``) as the entity, or None."""
    return None if record is None else entity(*record.values())


def each(entity: Callable[..., T], records: Iterable[asyncpg.Record]) -> list[T]:
    """Rows of ``select_list(entity, ...)`` as entities."""
    return [entity(*record.values()) for record in records]
