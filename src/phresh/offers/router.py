from fastapi import APIRouter, Response, status

from phresh.auth.dependencies import CurrentUser
from phresh.auth.exceptions import InvalidToken
from phresh.cleanings.dependencies import (
    CleaningId,
    OwnedCleaning,
    OwnedCleaningToRead,
    VisibleCleaning,
)
from phresh.cleanings.exceptions import CleaningNotFound, NotCleaningOwner
from phresh.db import SessionDep
from phresh.errors import Unauthorized, error_responses
from phresh.offers import service as offer_service
from phresh.offers.exceptions import (
    AlreadyOffered,
    NotOfferParty,
    OfferNotFound,
    OwnCleaning,
)
from phresh.offers.schemas import OfferRead
from phresh.users.exceptions import UserNotFound

router = APIRouter(prefix="/cleanings/{cleaning_id}/offers", tags=["offers"])

AUTH_ERRORS = (Unauthorized, InvalidToken)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(*AUTH_ERRORS, OwnCleaning, CleaningNotFound, AlreadyOffered),
    summary="Offer to take an open cleaning (not your own)",
)
async def create_offer(
    cleaning_id: CleaningId, user: CurrentUser, session: SessionDep
) -> OfferRead:
    return OfferRead.model_validate(await offer_service.make_offer(session, cleaning_id, user))


@router.get(
    "",
    responses=error_responses(*AUTH_ERRORS, NotCleaningOwner, CleaningNotFound),
    summary="Every offer on your cleaning (owner only)",
)
async def list_offers(cleaning: OwnedCleaningToRead, session: SessionDep) -> list[OfferRead]:
    offers = await offer_service.list_offers(session, cleaning)
    return [OfferRead.model_validate(offer) for offer in offers]


@router.post(
    "/mine/cancel",
    responses=error_responses(*AUTH_ERRORS, CleaningNotFound, OfferNotFound, AlreadyOffered),
    summary="Back out of an accepted offer: the cleaning reopens",
)
async def cancel_my_offer(
    cleaning_id: CleaningId, user: CurrentUser, session: SessionDep
) -> OfferRead:
    return OfferRead.model_validate(await offer_service.cancel_my_offer(session, cleaning_id, user))


@router.delete(
    "/mine",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(*AUTH_ERRORS, CleaningNotFound, OfferNotFound, AlreadyOffered),
    summary="Withdraw your pending offer",
)
async def rescind_my_offer(cleaning_id: CleaningId, user: CurrentUser, session: SessionDep) -> None:
    await offer_service.rescind_my_offer(session, cleaning_id, user)


@router.get(
    "/{username}",
    responses=error_responses(*AUTH_ERRORS, NotOfferParty, CleaningNotFound, OfferNotFound),
    summary="One offer (the cleaning's owner or the offer's author)",
)
async def read_offer(
    username: str, cleaning: VisibleCleaning, user: CurrentUser, session: SessionDep
) -> OfferRead:
    return OfferRead.model_validate(
        await offer_service.get_offer(session, cleaning, username, user)
    )


@router.post(
    "/{username}/accept",
    responses=error_responses(
        *AUTH_ERRORS, NotCleaningOwner, CleaningNotFound, UserNotFound, AlreadyOffered
    ),
    summary="Accept one pending offer: the others are rejected, the cleaning is assigned",
)
async def accept_offer(username: str, cleaning: OwnedCleaning, session: SessionDep) -> OfferRead:
    return OfferRead.model_validate(await offer_service.accept_offer(session, cleaning, username))
