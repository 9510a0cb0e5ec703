from fastapi import APIRouter, status

from phresh.auth.dependencies import CurrentUser
from phresh.auth.exceptions import InvalidToken
from phresh.cleanings.dependencies import CleaningId, OwnedCleaning
from phresh.cleanings.exceptions import CleaningNotFound, NotCleaningOwner
from phresh.db import ConnectionDep
from phresh.dependencies import CursorCodecDep
from phresh.errors import Unauthorized, error_responses
from phresh.evaluations import service as evaluation_service
from phresh.evaluations.exceptions import (
    AlreadyEvaluated,
    CleaningNotAssigned,
    EvaluationNotFound,
)
from phresh.evaluations.schemas import EvaluationCreate, EvaluationRead, EvaluationStats
from phresh.kit.pagination import Cursor, InvalidCursor, Limit, Page
from phresh.offers.exceptions import OfferNotFound
from phresh.users.exceptions import UserNotFound

router = APIRouter(tags=["evaluations"])

AUTH_ERRORS = (Unauthorized, InvalidToken)


@router.post(
    "/cleanings/{cleaning_id}/evaluation",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(
        *AUTH_ERRORS,
        NotCleaningOwner,
        CleaningNotFound,
        CleaningNotAssigned,
        AlreadyEvaluated,
        OfferNotFound,
    ),
    summary="Rate the accepted cleaner (owner only): offer and cleaning become completed",
)
async def evaluate_cleaning(
    data: EvaluationCreate, cleaning: OwnedCleaning, connection: ConnectionDep
) -> EvaluationRead:
    evaluation = await evaluation_service.evaluate_cleaning(connection, cleaning, data)
    return EvaluationRead.model_validate(evaluation)


@router.get(
    "/users/{username}/evaluations",
    responses=error_responses(*AUTH_ERRORS, UserNotFound, InvalidCursor),
    summary="Evaluations a cleaner has received, newest first",
)
async def list_evaluations(
    username: str,
    user: CurrentUser,
    connection: ConnectionDep,
    codec: CursorCodecDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[EvaluationRead]:
    return await evaluation_service.list_evaluations(
        connection, codec, username, limit=limit, cursor=cursor
    )


@router.get(
    "/users/{username}/evaluations/stats",
    responses=error_responses(*AUTH_ERRORS, UserNotFound),
    summary="A cleaner's rating averages, extremes, star counts and no-shows",
)
async def read_evaluation_stats(
    username: str, user: CurrentUser, connection: ConnectionDep
) -> EvaluationStats:
    return await evaluation_service.get_stats(connection, username)


@router.get(
    "/users/{username}/evaluations/{cleaning_id}",
    responses=error_responses(*AUTH_ERRORS, UserNotFound, EvaluationNotFound),
    summary="One evaluation a cleaner received, by the cleaning it was for",
)
async def read_evaluation(
    username: str, cleaning_id: CleaningId, user: CurrentUser, connection: ConnectionDep
) -> EvaluationRead:
    evaluation = await evaluation_service.get_evaluation(connection, username, cleaning_id)
    return EvaluationRead.model_validate(evaluation)
