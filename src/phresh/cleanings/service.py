"""Rules about cleanings: who may change what, and when."""

from collections.abc import Callable
from typing import Any

from sqlalchemy import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from phresh.cleanings import repository
from phresh.cleanings.exceptions import CleaningLocked, CleaningNotFound, NotCleaningOwner
from phresh.cleanings.schemas import (
    CleaningCreate,
    CleaningListQuery,
    CleaningRead,
    CleaningSort,
    CleaningUpdate,
)
from phresh.kit.pagination import CursorCodec, Page, after_time_key, keyset_page, time_key
from phresh.models import Cleaning, CleaningStatus, User

# Once a cleaner has been accepted, the terms they accepted cannot change under them.
TERMS = frozenset({"price", "cleaning_type"})


async def create_cleaning(session: AsyncSession, owner: User, data: CleaningCreate) -> CleaningRead:
    row = await repository.insert_cleaning(
        session,
        owner_id=owner.id,
        name=data.name,
        description=data.description,
        cleaning_type=data.cleaning_type,
        price=data.price,
    )
    return CleaningRead.model_validate(dict(row))


async def get_cleaning(session: AsyncSession, cleaning_id: int) -> Cleaning:
    cleaning = await repository.get_cleaning(session, cleaning_id)
    if cleaning is None:
        raise CleaningNotFound(f"No cleaning with id {cleaning_id}.")
    return cleaning


async def get_cleaning_including_deleted(session: AsyncSession, cleaning_id: int) -> Cleaning:
    """The cleaning even if soft-deleted: for the parties to its offers, never the public."""
    cleaning = await repository.get_cleaning_including_deleted(session, cleaning_id)
    if cleaning is None:
        raise CleaningNotFound(f"No cleaning with id {cleaning_id}.")
    return cleaning


async def read_cleaning(session: AsyncSession, cleaning_id: int) -> CleaningRead:
    row = await repository.read_cleaning(session, cleaning_id)
    if row is None:
        raise CleaningNotFound(f"No cleaning with id {cleaning_id}.")
    return CleaningRead.model_validate(dict(row))


async def get_cleaning_for_update(session: AsyncSession, cleaning_id: int) -> Cleaning:
    cleaning = await repository.get_cleaning_for_update(session, cleaning_id)
    if cleaning is None:
        raise CleaningNotFound(f"No cleaning with id {cleaning_id}.")
    return cleaning


def ensure_owner(cleaning: Cleaning, user: User) -> None:
    if cleaning.owner_id != user.id:
        raise NotCleaningOwner("Only the cleaning's owner may do this.")


async def update_cleaning(
    session: AsyncSession, cleaning: Cleaning, data: CleaningUpdate
) -> Cleaning:
    changes = {
        field: value
        for field, value in data.model_dump(exclude_unset=True).items()
        if getattr(cleaning, field) != value
    }
    if not changes:
        return cleaning
    if cleaning.status == CleaningStatus.completed:
        raise CleaningLocked("A completed cleaning can no longer be edited.")
    frozen = sorted(TERMS & changes.keys())
    if cleaning.status == CleaningStatus.assigned and frozen:
        raise CleaningLocked(
            f"An offer has been accepted: {', '.join(frozen)} can no longer change."
        )
    for field, value in changes.items():
        setattr(cleaning, field, value)
    await repository.flush(session)
    return cleaning


async def delete_cleaning(session: AsyncSession, cleaning: Cleaning) -> None:
    if cleaning.status == CleaningStatus.assigned:
        raise CleaningLocked(
            "A cleaner has been accepted for this cleaning: it cannot be deleted until the "
            "cleaner cancels or the job is evaluated."
        )
    # A completed cleaning keeps its status (its evaluation stands); an open one is cancelled.
    status = (
        CleaningStatus.completed
        if cleaning.status == CleaningStatus.completed
        else CleaningStatus.cancelled
    )
    await repository.soft_delete(session, cleaning, status)
    # Cleaners waiting on a cleaning that is gone get a definite answer.
    await repository.reject_pending_offers(session, cleaning.id)


async def get_cleaning_for_share(session: AsyncSession, cleaning_id: int) -> Cleaning:
    cleaning = await repository.get_cleaning_for_share(session, cleaning_id)
    if cleaning is None:
        raise CleaningNotFound(f"No cleaning with id {cleaning_id}.")
    return cleaning


async def set_status(session: AsyncSession, cleaning: Cleaning, status: CleaningStatus) -> None:
    await repository.set_status(session, cleaning, status)


async def list_owned_cleanings(
    session: AsyncSession,
    codec: CursorCodec,
    owner: User,
    *,
    limit: int,
    cursor: str | None,
    status: CleaningStatus | None,
    with_count: bool,
) -> Page[CleaningRead]:
    scope = f"mine:{owner.id}:{status or ''}"
    rows = await repository.list_owned_cleanings(
        session,
        owner.id,
        limit=limit + 1,
        after=after_time_key(codec, scope, cursor),
        status=status,
    )
    total = (
        await repository.count_owned_cleanings(session, owner.id, status) if with_count else None
    )
    return keyset_page(
        rows,
        limit=limit,
        codec=codec,
        scope=scope,
        key=lambda row: time_key(row["created_at"], row["id"]),
        item=_cleaning_read,
        total=total,
    )


def _cleaning_read(row: RowMapping) -> CleaningRead:
    return CleaningRead.model_validate(dict(row))


async def list_public_cleanings(
    session: AsyncSession, codec: CursorCodec, query: CleaningListQuery
) -> Page[CleaningRead]:
    sort = query.effective_sort
    scope = query.cursor_scope()
    after = codec.decode(scope, query.cursor) if query.cursor is not None else None
    tsquery = None
    if query.q is not None:
        # Made once, for the page and the count alike.
        tsquery = await repository.search_tsquery(session, query.q)
        if tsquery is None:
            # Nothing to look up (no word, only stop words): nothing found, no row read.
            return Page(items=[], next_cursor=None, total=0 if query.with_count else None)
    rows = await repository.list_public_cleanings(
        session, query, sort=sort, after=after, limit=query.limit + 1, tsquery=tsquery
    )
    total = (
        await repository.count_public_cleanings(session, query, tsquery=tsquery)
        if query.with_count
        else None
    )
    return keyset_page(
        rows,
        limit=query.limit,
        codec=codec,
        scope=scope,
        key=_PUBLIC_KEYS[sort],
        item=_cleaning_read,
        total=total,
    )


# The cursor of each order of the public list: the values of its keyset, last row shown.
_PUBLIC_KEYS: dict[CleaningSort, Callable[[RowMapping], list[Any]]] = {
    CleaningSort.newest: lambda row: time_key(row["created_at"], row["id"]),
    CleaningSort.price: lambda row: [str(row["price"]), row["id"]],
    CleaningSort.relevance: lambda row: [row["rank"], row["id"]],
}
