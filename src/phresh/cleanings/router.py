from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from phresh.auth.dependencies import CurrentUser
from phresh.auth.exceptions import InvalidToken
from phresh.cleanings import service as cleaning_service
from phresh.cleanings.dependencies import OwnedCleaning, VisibleCleaning
from phresh.cleanings.exceptions import CleaningLocked, CleaningNotFound, NotCleaningOwner
from phresh.cleanings.schemas import CleaningCreate, CleaningRead, CleaningUpdate
from phresh.db import SessionDep
from phresh.dependencies import CursorCodecDep
from phresh.errors import Unauthorized, error_responses
from phresh.kit.pagination import Cursor, InvalidCursor, Limit, Page, WithCount
from phresh.models import CleaningStatus

router = APIRouter(tags=["cleanings"])

AUTH_ERRORS = (Unauthorized, InvalidToken)


@router.post(
    "/cleanings",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(*AUTH_ERRORS),
    summary="Post a cleaning; the caller owns it and it starts open",
)
async def create_cleaning(
    data: CleaningCreate, user: CurrentUser, session: SessionDep
) -> CleaningRead:
    cleaning = await cleaning_service.create_cleaning(session, user, data)
    return CleaningRead.model_validate(cleaning)


@router.get(
    "/users/me/cleanings",
    responses=error_responses(*AUTH_ERRORS, InvalidCursor),
    summary="The caller's own cleanings, any status, newest first",
)
async def list_my_cleanings(
    user: CurrentUser,
    session: SessionDep,
    codec: CursorCodecDep,
    limit: Limit = 20,
    cursor: Cursor = None,
    status_filter: Annotated[CleaningStatus | None, Query(alias="status")] = None,
    with_count: WithCount = False,
) -> Page[CleaningRead]:
    scope = f"mine:{user.id}:{status_filter or ''}"
    after = None
    if cursor is not None:
        created_at, cleaning_id = codec.decode(scope, cursor)
        after = (datetime.fromisoformat(created_at), int(cleaning_id))
    cleanings = await cleaning_service.list_owned_cleanings(
        session, user, limit=limit + 1, after=after, status=status_filter
    )
    next_cursor = None
    if len(cleanings) > limit:
        last = cleanings[limit - 1]
        next_cursor = codec.encode(scope, [last.created_at.isoformat(), last.id])
    total = (
        await cleaning_service.count_owned_cleanings(session, user, status_filter)
        if with_count
        else None
    )
    return Page[CleaningRead](
        items=[CleaningRead.model_validate(c) for c in cleanings[:limit]],
        next_cursor=next_cursor,
        total=total,
    )


@router.get(
    "/cleanings/{cleaning_id}",
    responses=error_responses(*AUTH_ERRORS, CleaningNotFound),
)
async def read_cleaning(cleaning: VisibleCleaning) -> CleaningRead:
    return CleaningRead.model_validate(cleaning)


@router.patch(
    "/cleanings/{cleaning_id}",
    responses=error_responses(*AUTH_ERRORS, NotCleaningOwner, CleaningNotFound, CleaningLocked),
    summary="Edit a cleaning (owner only); price and type are frozen once a cleaner is accepted",
)
async def update_cleaning(
    data: CleaningUpdate, cleaning: OwnedCleaning, session: SessionDep
) -> CleaningRead:
    return CleaningRead.model_validate(
        await cleaning_service.update_cleaning(session, cleaning, data)
    )


@router.delete(
    "/cleanings/{cleaning_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(*AUTH_ERRORS, NotCleaningOwner, CleaningNotFound, CleaningLocked),
    summary="Delete a cleaning (owner only, soft delete); refused while a cleaner is assigned",
)
async def delete_cleaning(cleaning: OwnedCleaning, session: SessionDep) -> None:
    await cleaning_service.delete_cleaning(session, cleaning)
