"""Rules about cleanings: who may change what, and when."""

from collections.abc import Callable
from typing import Any

from phresh.cleanings import repository
from phresh.cleanings.exceptions import CleaningLocked, CleaningNotFound, NotCleaningOwner
from phresh.cleanings.schemas import (
    CleaningCreate,
    CleaningListQuery,
    CleaningRead,
    CleaningSort,
    CleaningUpdate,
)
from phresh.db import Connection
from phresh.events import service as event_service
from phresh.kit.pagination import CursorCodec, Page, after_time_key, keyset_page, time_key
from phresh.models import Cleaning, CleaningStatus, User
from phresh.offers import repository as offer_repository

# Once a cleaner has been accepted, the terms they accepted cannot change under them.
TERMS = frozenset({"price", "cleaning_type"})


def _found(cleaning: Cleaning | None, cleaning_id: int) -> Cleaning:
    if cleaning is None:
        raise CleaningNotFound(f"No cleaning with id {cleaning_id}.")
    return cleaning


async def create_cleaning(connection: Connection, owner: User, data: CleaningCreate) -> Cleaning:
    return await repository.insert_cleaning(
        connection,
        owner_id=owner.id,
        name=data.name,
        description=data.description,
        cleaning_type=data.cleaning_type,
        price=data.price,
    )


async def get_cleaning(connection: Connection, cleaning_id: int) -> Cleaning:
    return _found(await repository.get_cleaning(connection, cleaning_id), cleaning_id)


async def get_cleaning_including_deleted(connection: Connection, cleaning_id: int) -> Cleaning:
    """The cleaning even if soft-deleted: for the parties to its offers, never the public."""
    cleaning = await repository.get_cleaning_including_deleted(connection, cleaning_id)
    return _found(cleaning, cleaning_id)


async def get_cleaning_for_update(connection: Connection, cleaning_id: int) -> Cleaning:
    cleaning = await repository.get_cleaning_for_update(connection, cleaning_id)
    return _found(cleaning, cleaning_id)


async def get_cleaning_for_share(connection: Connection, cleaning_id: int) -> Cleaning:
    cleaning = await repository.get_cleaning_for_share(connection, cleaning_id)
    return _found(cleaning, cleaning_id)


def ensure_owner(cleaning: Cleaning, user: User) -> None:
    if cleaning.owner_id != user.id:
        raise NotCleaningOwner("Only the cleaning's owner may do this.")


async def update_cleaning(
    connection: Connection, cleaning: Cleaning, data: CleaningUpdate
) -> Cleaning:
    """``cleaning`` is the caller's, row-locked."""
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
    return await repository.update_cleaning(connection, cleaning.id, changes)


async def delete_cleaning(connection: Connection, cleaning: Cleaning) -> None:
    """``cleaning`` is the caller's, row-locked."""
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
    await repository.soft_delete(connection, cleaning.id, status)
    # Cleaners waiting on a cleaning that is gone get a definite answer, and are told.
    await event_service.tell_pending_rejected(connection, cleaning)
    await offer_repository.reject_pending(connection, cleaning.id)


async def set_status(connection: Connection, cleaning: Cleaning, status: CleaningStatus) -> None:
    await repository.set_status(connection, cleaning.id, status)


async def list_owned_cleanings(
    connection: Connection,
    codec: CursorCodec,
    owner: User,
    *,
    limit: int,
    cursor: str | None,
    status: CleaningStatus | None,
    with_count: bool,
) -> Page[CleaningRead]:
    scope = f"mine:{owner.id}:{status or ''}"
    cleanings = await repository.list_owned_cleanings(
        connection,
        owner.id,
        limit=limit + 1,
        after=after_time_key(codec, scope, cursor),
        status=status,
    )
    total = (
        await repository.count_owned_cleanings(connection, owner.id, status) if with_count else None
    )
    return keyset_page(
        cleanings,
        limit=limit,
        codec=codec,
        scope=scope,
        key=lambda cleaning: time_key(cleaning.created_at, cleaning.id),
        page=Page[CleaningRead],
        total=total,
    )


Ranked = tuple[Cleaning, float | None]


async def list_public_cleanings(
    connection: Connection, codec: CursorCodec, query: CleaningListQuery
) -> Page[CleaningRead]:
    sort = query.effective_sort
    scope = query.cursor_scope()
    after = codec.decode_cursor(scope, query.cursor) if query.cursor is not None else None
    tsquery = None
    if query.q is not None:
        # Made once, for the page and the count alike.
        tsquery = await repository.search_tsquery(connection, query.q)
        if tsquery is None:
            # Nothing to look up (no word, only stop words): nothing found, no row read.
            return Page(items=[], next_cursor=None, total=0 if query.with_count else None)
    ranked = await repository.list_public_cleanings(
        connection, query, sort=sort, after=after, limit=query.limit + 1, tsquery=tsquery
    )
    total = (
        await repository.count_public_cleanings(connection, query, tsquery=tsquery)
        if query.with_count
        else None
    )
    return keyset_page(
        ranked,
        limit=query.limit,
        codec=codec,
        scope=scope,
        key=_PUBLIC_KEYS[sort],
        page=Page[CleaningRead],
        item=lambda pair: pair[0],
        total=total,
    )


# The cursor of each order of the public list: the values of its keyset, last row shown.
_PUBLIC_KEYS: dict[CleaningSort, Callable[[Ranked], list[Any]]] = {
    CleaningSort.newest: lambda pair: time_key(pair[0].created_at, pair[0].id),
    CleaningSort.price: lambda pair: [str(pair[0].price), pair[0].id],
    CleaningSort.relevance: lambda pair: [pair[1], pair[0].id],
}
