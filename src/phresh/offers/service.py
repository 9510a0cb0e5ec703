"""The offer state machine.

    pending --accept--> accepted --evaluate--> completed
       |  \\                 |
       |   (another accepted: rejected) <--cancel-- (rejected offers: pending again)
    rescind (row removed)

Every transition first locks the cleaning row (FOR UPDATE; offers take FOR SHARE), so
concurrent requests on one cleaning are decided one at a time, and the partial unique
index on offer(cleaning_id) WHERE status IN ('accepted', 'completed') backs that up.
"""

from phresh.cleanings import service as cleaning_service
from phresh.cleanings.exceptions import CleaningNotFound
from phresh.db import Connection
from phresh.events import service as event_service
from phresh.kit.pagination import CursorCodec, Page, after_time_key, keyset_page, time_key
from phresh.kit.repository import ConstraintViolation
from phresh.models import Cleaning, CleaningStatus, EventKind, Offer, OfferStatus, User
from phresh.offers import repository
from phresh.offers.exceptions import (
    AlreadyOffered,
    CleaningNotOpen,
    NotOfferParty,
    OfferFinal,
    OfferNotFound,
    OfferWrongStatus,
    OwnCleaning,
)
from phresh.offers.schemas import MyOfferRead, OfferedCleaning, OfferRead
from phresh.users import service as user_service


def _ensure_open(cleaning: Cleaning) -> None:
    if cleaning.status != CleaningStatus.open:
        raise CleaningNotOpen(f"The cleaning is {cleaning.status}, not open.")


async def make_offer(connection: Connection, cleaning_id: int, cleaner: User) -> Offer:
    cleaning = await cleaning_service.get_cleaning_for_share(connection, cleaning_id)
    if cleaning.owner_id == cleaner.id:
        raise OwnCleaning("You cannot offer to clean your own home.")
    _ensure_open(cleaning)
    existing = await repository.get_offer(connection, cleaning_id, cleaner.id)
    if existing is not None and existing.status == OfferStatus.cancelled:
        raise OfferFinal(
            "You cancelled your accepted offer on this cleaning; a cancelled offer is final, "
            "so you cannot offer on it again."
        )
    if existing is not None:
        raise AlreadyOffered("You have already made an offer on this cleaning.")
    try:
        offer = await repository.insert_offer(connection, cleaning_id, cleaner.id)
    except ConstraintViolation as exc:
        # The same cleaner offering twice at once: the primary key lets one through.
        raise AlreadyOffered("You have already made an offer on this cleaning.") from exc
    await event_service.tell(
        connection,
        cleaning,
        by=cleaner.username,
        recipients=[(cleaning.owner_id, EventKind.offer_created)],
    )
    return offer


async def list_offers(
    connection: Connection,
    codec: CursorCodec,
    cleaning: Cleaning,
    *,
    limit: int,
    cursor: str | None,
    with_count: bool,
) -> Page[OfferRead]:
    """The offers on one cleaning, oldest first."""
    scope = f"offers:{cleaning.id}"
    offers = await repository.list_offers(
        connection, cleaning.id, limit=limit + 1, after=after_time_key(codec, scope, cursor)
    )
    total = await repository.count_offers(connection, cleaning.id) if with_count else None
    return keyset_page(
        offers,
        limit=limit,
        codec=codec,
        scope=scope,
        key=lambda offer: time_key(offer.created_at, offer.cleaner_id),
        page=Page[OfferRead],
        total=total,
    )


async def list_my_offers(
    connection: Connection,
    codec: CursorCodec,
    cleaner: User,
    *,
    status: OfferStatus | None,
    limit: int,
    cursor: str | None,
    with_count: bool,
) -> Page[MyOfferRead]:
    """The caller's offers, any status, newest first, each with its cleaning."""
    scope = f"my-offers:{cleaner.id}:{status or ''}"
    offers = await repository.list_cleaner_offers(
        connection,
        cleaner.id,
        status=status,
        limit=limit + 1,
        after=after_time_key(codec, scope, cursor),
    )
    total = (
        await repository.count_cleaner_offers(connection, cleaner.id, status)
        if with_count
        else None
    )
    return keyset_page(
        offers,
        limit=limit,
        codec=codec,
        scope=scope,
        key=lambda item: time_key(item.offer.created_at, item.offer.cleaning_id),
        page=Page[MyOfferRead],
        item=_my_offer,
        total=total,
    )


def _my_offer(item: repository.CleanerOffer) -> MyOfferRead:
    offer = item.offer
    return MyOfferRead(
        cleaning_id=offer.cleaning_id,
        status=offer.status,
        created_at=offer.created_at,
        updated_at=offer.updated_at,
        cleaning=OfferedCleaning(
            id=offer.cleaning_id,
            name=item.name,
            price=item.price,
            status=item.cleaning_status,
            owner=item.owner,
        ),
    )


async def _offer_of(connection: Connection, cleaning: Cleaning, username: str) -> Offer:
    cleaner_id = await user_service.get_user_id(connection, username)
    offer = await repository.get_offer(connection, cleaning.id, cleaner_id)
    if offer is None:
        raise OfferNotFound(f"{username!r} has made no offer on this cleaning.")
    return offer


async def get_offer(connection: Connection, cleaning_id: int, username: str, viewer: User) -> Offer:
    """One offer, for the cleaning's owner or the offer's author.

    A deleted cleaning's offers stay readable by those two (the cleaner learns that their
    offer was rejected); to anyone else the cleaning does not exist.
    """
    cleaning = await cleaning_service.get_cleaning_including_deleted(connection, cleaning_id)
    is_party = viewer.id == cleaning.owner_id or viewer.username == username.lower()
    if not is_party and cleaning.deleted_at is not None:
        raise CleaningNotFound(f"No cleaning with id {cleaning_id}.")
    if not is_party:
        raise NotOfferParty("Only the cleaning's owner or the offer's author may see it.")
    return await _offer_of(connection, cleaning, username)


async def accept_offer(connection: Connection, cleaning: Cleaning, username: str) -> Offer:
    """``cleaning`` is owned by the caller and row-locked FOR UPDATE."""
    _ensure_open(cleaning)
    offer = await _offer_of(connection, cleaning, username)
    if offer.status != OfferStatus.pending:
        raise OfferWrongStatus(f"Only a pending offer can be accepted; this one is {offer.status}.")
    try:
        accepted = await repository.set_status(connection, offer, OfferStatus.accepted)
    except ConstraintViolation as exc:
        raise CleaningNotOpen("Another offer has already been accepted.") from exc
    # Before the others move: the cleaners told offer_rejected are those still pending.
    await event_service.tell_offer_decided(connection, cleaning, accepted=offer.cleaner_id)
    await repository.move_others(
        connection,
        cleaning.id,
        except_cleaner_id=offer.cleaner_id,
        from_status=OfferStatus.pending,
        to_status=OfferStatus.rejected,
    )
    await cleaning_service.set_status(connection, cleaning, CleaningStatus.assigned)
    return accepted


async def cancel_my_offer(connection: Connection, cleaning_id: int, cleaner: User) -> Offer:
    """The accepted cleaner backs out: the cleaning reopens and the others are back in."""
    cleaning = await cleaning_service.get_cleaning_for_update(connection, cleaning_id)
    offer = await repository.get_offer(connection, cleaning.id, cleaner.id)
    if offer is None:
        raise OfferNotFound("You have made no offer on this cleaning.")
    if offer.status != OfferStatus.accepted:
        raise OfferWrongStatus(
            f"Only an accepted offer can be cancelled; yours is {offer.status}. "
            "A pending offer is withdrawn with DELETE instead."
        )
    cancelled = await repository.set_status(connection, offer, OfferStatus.cancelled)
    await repository.move_others(
        connection,
        cleaning.id,
        except_cleaner_id=cleaner.id,
        from_status=OfferStatus.rejected,
        to_status=OfferStatus.pending,
    )
    await cleaning_service.set_status(connection, cleaning, CleaningStatus.open)
    await event_service.tell(
        connection,
        cleaning,
        by=cleaner.username,
        recipients=[(cleaning.owner_id, EventKind.job_cancelled)],
    )
    return cancelled


async def rescind_my_offer(connection: Connection, cleaning_id: int, cleaner: User) -> None:
    cleaning = await cleaning_service.get_cleaning_for_share(connection, cleaning_id)
    offer = await repository.get_offer(connection, cleaning.id, cleaner.id)
    if offer is None:
        raise OfferNotFound("You have made no offer on this cleaning.")
    # A rejected offer may be revived by a cancel, so withdrawing it is allowed too.
    if offer.status not in {OfferStatus.pending, OfferStatus.rejected}:
        raise OfferWrongStatus(
            f"Only a pending offer can be withdrawn; yours is {offer.status}."
            + (" Cancel it instead." if offer.status == OfferStatus.accepted else "")
        )
    await repository.delete_offer(connection, offer)
    await event_service.tell(
        connection,
        cleaning,
        by=cleaner.username,
        recipients=[(cleaning.owner_id, EventKind.offer_withdrawn)],
    )


async def complete_accepted_offer(connection: Connection, cleaning: Cleaning) -> Offer:
    """For the evaluation: the accepted offer of a row-locked, assigned cleaning, completed."""
    offer = await repository.get_accepted_offer(connection, cleaning.id)
    if offer is None:
        raise OfferNotFound("This cleaning has no accepted offer.")
    return await repository.set_status(connection, offer, OfferStatus.completed)
