from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from phresh.auth.dependencies import CurrentUser, ensure_verified
from phresh.auth.exceptions import EmailNotVerified, InvalidToken
from phresh.cleanings.dependencies import (
    CleaningId,
    OwnedCleaning,
    OwnedCleaningToRead,
)
from phresh.cleanings.exceptions import CleaningNotFound, NotCleaningOwner
from phresh.db import ConnectionDep
from phresh.dependencies import CursorCodecDep
from phresh.errors import Unauthorized, error_responses
from phresh.kit.pagination import Cursor, InvalidCursor, Limit, Page, WithCount
from phresh.models import OfferStatus
from phresh.offers import service as offer_service
from phresh.offers.exceptions import (
    AlreadyOffered,
    CleaningNotOpen,
    NotOfferParty,
    OfferFinal,
    OfferNotFound,
    OfferWrongStatus,
    OwnCleaning,
)
from phresh.offers.schemas import MyOfferRead, OfferRead
from phresh.users.exceptions import UserNotFound

router = APIRouter(prefix="/cleanings/{cleaning_id}/offers", tags=["offers"])

AUTH_ERRORS = (Unauthorized, InvalidToken)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(
        *AUTH_ERRORS,
        OwnCleaning,
        CleaningNotFound,
        CleaningNotOpen,
        AlreadyOffered,
        OfferFinal,
        EmailNotVerified,
    ),
    summary="Offer to take an open cleaning (not your own)",
)
async def create_offer(
    request: Request, cleaning_id: CleaningId, user: CurrentUser, connection: ConnectionDep
) -> OfferRead:
    ensure_verified(request, user)
    return OfferRead.model_validate(await offer_service.make_offer(connection, cleaning_id, user))


@router.get(
    "",
    responses=error_responses(*AUTH_ERRORS, NotCleaningOwner, CleaningNotFound, InvalidCursor),
    summary="Every offer on your cleaning, oldest first (owner only)",
)
async def list_offers(
    cleaning: OwnedCleaningToRead,
    connection: ConnectionDep,
    codec: CursorCodecDep,
    limit: Limit = 20,
    cursor: Cursor = None,
    with_count: WithCount = False,
) -> Page[OfferRead]:
    return await offer_service.list_offers(
        connection, codec, cleaning, limit=limit, cursor=cursor, with_count=with_count
    )


@router.post(
    "/mine/cancel",
    responses=error_responses(*AUTH_ERRORS, CleaningNotFound, OfferNotFound, OfferWrongStatus),
    summary="Back out of an accepted offer: the cleaning reopens",
)
async def cancel_my_offer(
    cleaning_id: CleaningId, user: CurrentUser, connection: ConnectionDep
) -> OfferRead:
    return OfferRead.model_validate(
        await offer_service.cancel_my_offer(connection, cleaning_id, user)
    )


@router.delete(
    "/mine",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(*AUTH_ERRORS, CleaningNotFound, OfferNotFound, OfferWrongStatus),
    summary="Withdraw your pending or rejected offer",
)
async def withdraw_my_offer(
    cleaning_id: CleaningId, user: CurrentUser, connection: ConnectionDep
) -> None:
    await offer_service.rescind_my_offer(connection, cleaning_id, user)


@router.get(
    "/{username}",
    responses=error_responses(
        *AUTH_ERRORS, NotOfferParty, CleaningNotFound, UserNotFound, OfferNotFound
    ),
    summary="One offer (the cleaning's owner or the offer's author)",
)
async def read_offer(
    cleaning_id: CleaningId, username: str, user: CurrentUser, connection: ConnectionDep
) -> OfferRead:
    return OfferRead.model_validate(
        await offer_service.get_offer(connection, cleaning_id, username, user)
    )


@router.post(
    "/{username}/accept",
    responses=error_responses(
        *AUTH_ERRORS,
        NotCleaningOwner,
        CleaningNotFound,
        UserNotFound,
        OfferNotFound,
        OfferWrongStatus,
        CleaningNotOpen,
    ),
    summary="Accept one pending offer: the others are rejected, the cleaning is assigned",
)
async def accept_offer(
    username: str, cleaning: OwnedCleaning, connection: ConnectionDep
) -> OfferRead:
    return OfferRead.model_validate(
        await offer_service.accept_offer(connection, cleaning, username)
    )


# The cleaner's side: their own offers across cleanings.
my_offers_router = APIRouter(tags=["offers"])


@my_offers_router.get(
    "/users/me/offers",
    responses=error_responses(*AUTH_ERRORS, InvalidCursor),
    summary="Your offers, any status, newest first, each with its cleaning",
)
async def list_my_offers(
    user: CurrentUser,
    connection: ConnectionDep,
    codec: CursorCodecDep,
    status_filter: Annotated[
        OfferStatus | None, Query(alias="status", description="Only offers in this status.")
    ] = None,
    limit: Limit = 20,
    cursor: Cursor = None,
    with_count: WithCount = False,
) -> Page[MyOfferRead]:
    return await offer_service.list_my_offers(
        connection,
        codec,
        user,
        status=status_filter,
        limit=limit,
        cursor=cursor,
        with_count=with_count,
    )
