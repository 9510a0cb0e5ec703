"""All SQL about offers."""

from collections.abc import Sequence

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from phresh.kit.repository import ConstraintViolation, violated_constraint
from phresh.models import Offer, OfferStatus


async def insert_offer(session: AsyncSession, offer: Offer) -> Offer:
    session.add(offer)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ConstraintViolation(violated_constraint(exc)) from exc
    return offer


async def get_offer(session: AsyncSession, cleaning_id: int, cleaner_id: int) -> Offer | None:
    statement = (
        select(Offer)
        .options(joinedload(Offer.cleaner))
        .where(Offer.cleaning_id == cleaning_id, Offer.cleaner_id == cleaner_id)
    )
    return await session.scalar(statement)


async def get_accepted_offer(session: AsyncSession, cleaning_id: int) -> Offer | None:
    statement = (
        select(Offer)
        .options(joinedload(Offer.cleaner))
        .where(Offer.cleaning_id == cleaning_id, Offer.status == OfferStatus.accepted)
    )
    return await session.scalar(statement)


async def list_offers(session: AsyncSession, cleaning_id: int) -> Sequence[Offer]:
    statement = (
        select(Offer)
        .options(joinedload(Offer.cleaner))
        .where(Offer.cleaning_id == cleaning_id)
        .order_by(Offer.created_at, Offer.cleaner_id)
    )
    return (await session.scalars(statement)).all()


async def set_status(session: AsyncSession, offer: Offer, status: OfferStatus) -> None:
    offer.status = status
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ConstraintViolation(violated_constraint(exc)) from exc


async def move_others(
    session: AsyncSession,
    cleaning_id: int,
    *,
    except_cleaner_id: int,
    from_status: OfferStatus,
    to_status: OfferStatus,
) -> None:
    await session.execute(
        update(Offer)
        .where(
            Offer.cleaning_id == cleaning_id,
            Offer.cleaner_id != except_cleaner_id,
            Offer.status == from_status,
        )
        .values(status=to_status)
        .execution_options(synchronize_session=False)
    )


async def delete_offer(session: AsyncSession, offer: Offer) -> None:
    await session.execute(
        delete(Offer).where(
            Offer.cleaning_id == offer.cleaning_id, Offer.cleaner_id == offer.cleaner_id
        )
    )
