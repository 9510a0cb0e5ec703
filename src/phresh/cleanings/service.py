"""Rules about cleanings: who may change what, and when."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from phresh.cleanings import repository
from phresh.cleanings.exceptions import CleaningLocked, CleaningNotFound, NotCleaningOwner
from phresh.cleanings.schemas import CleaningCreate, CleaningUpdate
from phresh.models import Cleaning, CleaningStatus, User

# Once a cleaner has been accepted, the terms they accepted cannot change under them.
TERMS = frozenset({"price", "cleaning_type"})


async def create_cleaning(session: AsyncSession, owner: User, data: CleaningCreate) -> Cleaning:
    cleaning = Cleaning(**data.model_dump(), owner_id=owner.id, owner=owner)
    return await repository.insert_cleaning(session, cleaning)


async def get_cleaning(session: AsyncSession, cleaning_id: int) -> Cleaning:
    cleaning = await repository.get_cleaning(session, cleaning_id)
    if cleaning is None:
        raise CleaningNotFound(f"No cleaning with id {cleaning_id}.")
    return cleaning


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


async def list_owned_cleanings(
    session: AsyncSession,
    owner: User,
    *,
    limit: int,
    after: tuple[datetime, int] | None,
    status: CleaningStatus | None,
) -> Sequence[Cleaning]:
    return await repository.list_owned_cleanings(
        session, owner.id, limit=limit, after=after, status=status
    )


async def count_owned_cleanings(
    session: AsyncSession, owner: User, status: CleaningStatus | None
) -> int:
    return await repository.count_owned_cleanings(session, owner.id, status)
