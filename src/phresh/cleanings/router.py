from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from phresh.auth.dependencies import CurrentUser, ensure_verified
from phresh.auth.exceptions import EmailNotVerified, InvalidToken
from phresh.cleanings import service as cleaning_service
from phresh.cleanings.dependencies import CleaningId, ListQuery, OwnedCleaning
from phresh.cleanings.exceptions import CleaningLocked, CleaningNotFound, NotCleaningOwner
from phresh.cleanings.schemas import (
    CleaningCreate,
    CleaningListQuery,
    CleaningRead,
    CleaningUpdate,
)
from phresh.db import ConnectionDep
from phresh.dependencies import CursorCodecDep
from phresh.errors import Unauthorized, error_responses
from phresh.kit.pagination import Cursor, InvalidCursor, Limit, Page, WithCount
from phresh.kit.query import query_parameters
from phresh.models import CleaningStatus

router = APIRouter(tags=["cleanings"])

AUTH_ERRORS = (Unauthorized, InvalidToken)


@router.post(
    "/cleanings",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(*AUTH_ERRORS, EmailNotVerified),
    summary="Post a cleaning; the caller owns it and it starts open",
)
async def create_cleaning(
    request: Request, data: CleaningCreate, user: CurrentUser, connection: ConnectionDep
) -> CleaningRead:
    ensure_verified(request, user)
    return CleaningRead.model_validate(
        await cleaning_service.create_cleaning(connection, user, data)
    )


@router.get(
    "/cleanings",
    responses=error_responses(*AUTH_ERRORS, InvalidCursor),
    summary="Open cleanings of everyone: filter, search, sort, keyset pages",
    openapi_extra=query_parameters(CleaningListQuery),
)
async def list_cleanings(
    query: ListQuery,
    user: CurrentUser,
    connection: ConnectionDep,
    codec: CursorCodecDep,
) -> Page[CleaningRead]:
    return await cleaning_service.list_public_cleanings(connection, codec, query)


@router.get(
    "/users/me/cleanings",
    responses=error_responses(*AUTH_ERRORS, InvalidCursor),
    summary="The caller's own cleanings, any status, newest first",
)
async def list_my_cleanings(
    user: CurrentUser,
    connection: ConnectionDep,
    codec: CursorCodecDep,
    status_filter: Annotated[CleaningStatus | None, Query(alias="status")] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
    with_count: WithCount = False,
) -> Page[CleaningRead]:
    return await cleaning_service.list_owned_cleanings(
        connection,
        codec,
        user,
        limit=limit,
        cursor=cursor,
        status=status_filter,
        with_count=with_count,
    )


@router.get(
    "/cleanings/{cleaning_id}",
    responses=error_responses(*AUTH_ERRORS, CleaningNotFound),
    summary="One live cleaning, any status (404 once deleted)",
)
async def read_cleaning(
    cleaning_id: CleaningId, user: CurrentUser, connection: ConnectionDep
) -> CleaningRead:
    return CleaningRead.model_validate(await cleaning_service.get_cleaning(connection, cleaning_id))


@router.patch(
    "/cleanings/{cleaning_id}",
    responses=error_responses(*AUTH_ERRORS, NotCleaningOwner, CleaningNotFound, CleaningLocked),
    summary="Edit a cleaning (owner only); price and type are frozen once a cleaner is accepted",
)
async def update_cleaning(
    data: CleaningUpdate, cleaning: OwnedCleaning, connection: ConnectionDep
) -> CleaningRead:
    return CleaningRead.model_validate(
        await cleaning_service.update_cleaning(connection, cleaning, data)
    )


@router.delete(
    "/cleanings/{cleaning_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(*AUTH_ERRORS, NotCleaningOwner, CleaningNotFound, CleaningLocked),
    summary="Delete a cleaning (owner only, soft delete); refused while a cleaner is assigned",
)
async def delete_cleaning(cleaning: OwnedCleaning, connection: ConnectionDep) -> None:
    await cleaning_service.delete_cleaning(connection, cleaning)
