from typing import Annotated

from fastapi import Depends, Path, Request

from phresh.auth.dependencies import CurrentUser
from phresh.cleanings import service as cleaning_service
from phresh.cleanings.schemas import CleaningListQuery
from phresh.db import ConnectionDep
from phresh.kit.query import parse_query
from phresh.models import Cleaning

CleaningId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The cleaning's id.")]


async def get_cleaning(
    cleaning_id: CleaningId, connection: ConnectionDep, user: CurrentUser
) -> Cleaning:
    return await cleaning_service.get_cleaning(connection, cleaning_id)


async def get_owned_cleaning(
    cleaning_id: CleaningId, connection: ConnectionDep, user: CurrentUser
) -> Cleaning:
    """The caller's own cleaning, for a change (404, then 403).

    Locked FOR UPDATE: a write request runs in one transaction, so the lock holds until its
    commit or rollback and concurrent changes to this cleaning wait their turn.
    """
    cleaning = await cleaning_service.get_cleaning_for_update(connection, cleaning_id)
    cleaning_service.ensure_owner(cleaning, user)
    return cleaning


async def get_owned_cleaning_to_read(
    cleaning_id: CleaningId, connection: ConnectionDep, user: CurrentUser
) -> Cleaning:
    """The caller's own cleaning, read without a lock (404, then 403).

    Reads run in autocommit, where a row lock would end with its own statement and only make
    the read wait behind writers.
    """
    cleaning = await cleaning_service.get_cleaning(connection, cleaning_id)
    cleaning_service.ensure_owner(cleaning, user)
    return cleaning


VisibleCleaning = Annotated[Cleaning, Depends(get_cleaning)]
OwnedCleaning = Annotated[Cleaning, Depends(get_owned_cleaning)]
OwnedCleaningToRead = Annotated[Cleaning, Depends(get_owned_cleaning_to_read)]


async def get_list_query(request: Request) -> CleaningListQuery:
    return parse_query(CleaningListQuery, request)


ListQuery = Annotated[CleaningListQuery, Depends(get_list_query)]
