"""All SQL about offers."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import RowMapping, delete, func, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from phresh.kit.repository import SqlBuilder, fetch_all, flush
from phresh.models import Offer, OfferStatus


async def insert_offer(session: AsyncSession, offer: Offer) -> Offer:
    await flush(session, offer)
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


async def list_offers(
    session: AsyncSession, cleaning_id: int, *, limit: int, after: tuple[datetime, int] | None
) -> Sequence[Offer]:
    """Oldest first, keyset on (created_at, cleaner_id) within one cleaning's offers."""
    statement = (
        select(Offer)
        .options(joinedload(Offer.cleaner))
        .where(Offer.cleaning_id == cleaning_id)
        .order_by(Offer.created_at, Offer.cleaner_id)
        .limit(limit)
    )
    if after is not None:
        statement = statement.where(tuple_(Offer.created_at, Offer.cleaner_id) > after)
    return (await session.scalars(statement)).all()


async def count_offers(session: AsyncSession, cleaning_id: int) -> int:
    statement = select(func.count()).select_from(Offer).where(Offer.cleaning_id == cleaning_id)
    return (await session.scalar(statement)) or 0


# The caller's offers with what they need of each cleaning, deleted ones included: a
# cleaning deleted under a pending offer shows as cancelled, its offer as rejected.
MY_OFFER_COLUMNS = (
    "o.cleaning_id, o.status, o.created_at, o.updated_at, "
    "c.name, c.price, c.status AS cleaning_status, u.username AS owner"
)


async def list_cleaner_offers(
    session: AsyncSession,
    cleaner_id: int,
    *,
    status: OfferStatus | None,
    limit: int,
    after: tuple[datetime, int] | None,
) -> Sequence[RowMapping]:
    """Newest first, keyset on (created_at, cleaning_id): ix_offer_cleaner_id_created_at."""
    query = SqlBuilder()
    conditions = [f"o.cleaner_id = {query.param(cleaner_id)}"]
    if status is not None:
        conditions.append(f"o.status = {query.param(status.value)}")
    if after is not None:
        key = f"({query.param(after[0])}, {query.param(after[1])})"
        conditions.append(f"(o.created_at, o.cleaning_id) < {key}")
    sql = (
        f"SELECT {MY_OFFER_COLUMNS} FROM offer o "  # noqa: S608 - constants and :params only
        'JOIN cleaning c ON c.id = o.cleaning_id JOIN "user" u ON u.id = c.owner_id '
        f"WHERE {' AND '.join(conditions)} "
        f"ORDER BY o.created_at DESC, o.cleaning_id DESC LIMIT {query.param(limit)}"
    )
    return await fetch_all(session, sql, query.params)


async def count_cleaner_offers(
    session: AsyncSession, cleaner_id: int, status: OfferStatus | None
) -> int:
    statement = select(func.count()).select_from(Offer).where(Offer.cleaner_id == cleaner_id)
    if status is not None:
        statement = statement.where(Offer.status == status)
    return (await session.scalar(statement)) or 0


async def set_status(session: AsyncSession, offer: Offer, status: OfferStatus) -> None:
    offer.status = status
    await flush(session)


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
