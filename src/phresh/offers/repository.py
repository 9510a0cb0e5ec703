"""All SQL about offers."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from phresh.db import Connection
from phresh.kit.repository import SqlBuilder, constraints_named, each, one, select_list
from phresh.models import CleaningStatus, Offer, OfferStatus
from phresh.models.cleaning import CLEANING_STATUSES

# An offer as every read answers it (phresh.models.Offer): with its cleaner's username.
OFFER_COLUMNS = select_list(Offer, "o", cleaner="u.username")
FROM_OFFER = 'FROM offer o JOIN "user" u ON u.id = o.cleaner_id'

INSERT_OFFER = f"""
WITH o AS (INSERT INTO offer (cleaning_id, cleaner_id) VALUES ($1, $2) RETURNING *)
SELECT {OFFER_COLUMNS} FROM o JOIN "user" u ON u.id = o.cleaner_id
"""  # noqa: S608 - OFFER_COLUMNS is a constant


async def insert_offer(connection: Connection, cleaning_id: int, cleaner_id: int) -> Offer:
    """A pending offer; an existing one is a ConstraintViolation (the primary key)."""
    with constraints_named():
        offer = one(Offer, await connection.fetchrow(INSERT_OFFER, cleaning_id, cleaner_id))
    assert offer is not None  # INSERT ... RETURNING always answers its row
    return offer


OFFER_BY_KEY = f"SELECT {OFFER_COLUMNS} {FROM_OFFER} WHERE o.cleaning_id = $1 AND o.cleaner_id = $2"


async def get_offer(connection: Connection, cleaning_id: int, cleaner_id: int) -> Offer | None:
    return one(Offer, await connection.fetchrow(OFFER_BY_KEY, cleaning_id, cleaner_id))


ACCEPTED_OFFER = (
    f"SELECT {OFFER_COLUMNS} {FROM_OFFER} WHERE o.cleaning_id = $1 AND o.status = 'accepted'"
)


async def get_accepted_offer(connection: Connection, cleaning_id: int) -> Offer | None:
    return one(Offer, await connection.fetchrow(ACCEPTED_OFFER, cleaning_id))


async def list_offers(
    connection: Connection, cleaning_id: int, *, limit: int, after: tuple[datetime, int] | None
) -> list[Offer]:
    """Oldest first, keyset on (created_at, cleaner_id) within one cleaning's offers."""
    query = SqlBuilder(cleaning_id)
    keyset = ""
    if after is not None:
        key = query.row(*after)
        keyset = f"AND (o.created_at, o.cleaner_id) > {key} "
    sql = (
        f"SELECT {OFFER_COLUMNS} {FROM_OFFER} WHERE o.cleaning_id = $1 {keyset}"
        f"ORDER BY o.created_at, o.cleaner_id LIMIT {query.param(limit)}"
    )
    return each(Offer, await connection.fetch(sql, *query.params))


COUNT_OFFERS = "SELECT count(*) FROM offer WHERE cleaning_id = $1"


async def count_offers(connection: Connection, cleaning_id: int) -> int:
    count: int = await connection.fetchval(COUNT_OFFERS, cleaning_id)
    return count


@dataclass(frozen=True, slots=True)
class CleanerOffer:
    """One of a cleaner's offers with what they need of its cleaning (deleted or not)."""

    offer: Offer
    name: str
    price: Decimal
    cleaning_status: CleaningStatus
    owner: str


async def list_cleaner_offers(
    connection: Connection,
    cleaner_id: int,
    *,
    status: OfferStatus | None,
    limit: int,
    after: tuple[datetime, int] | None,
) -> list[CleanerOffer]:
    """Newest first, keyset on (created_at, cleaning_id): ix_offer_cleaner_id_created_at.

    Deleted cleanings included: a cleaning deleted under a pending offer shows as
    cancelled, its offer as rejected.
    """
    query = SqlBuilder(cleaner_id)
    conditions = ["o.cleaner_id = $1"]
    if status is not None:
        conditions.append(f"o.status = {query.param(status.value)}")
    if after is not None:
        key = query.row(*after)
        conditions.append(f"(o.created_at, o.cleaning_id) < {key}")
    sql = (
        f"SELECT {OFFER_COLUMNS}, c.name, c.price, c.status AS cleaning_status, "
        "ou.username AS owner "
        f"{FROM_OFFER} JOIN cleaning c ON c.id = o.cleaning_id "
        'JOIN "user" ou ON ou.id = c.owner_id '
        f"WHERE {' AND '.join(conditions)} "
        f"ORDER BY o.created_at DESC, o.cleaning_id DESC LIMIT {query.param(limit)}"
    )
    offers = []
    for record in await connection.fetch(sql, *query.params):
        *fields, name, price, cleaning_status, owner = record.values()  # OFFER_COLUMNS, ...
        offers.append(
            CleanerOffer(
                offer=Offer(*fields),
                name=name,
                price=price,
                cleaning_status=CLEANING_STATUSES[cleaning_status],
                owner=owner,
            )
        )
    return offers


async def count_cleaner_offers(
    connection: Connection, cleaner_id: int, status: OfferStatus | None
) -> int:
    query = SqlBuilder(cleaner_id)
    condition = "" if status is None else f" AND status = {query.param(status.value)}"
    sql = f"SELECT count(*) FROM offer WHERE cleaner_id = $1{condition}"  # noqa: S608
    count: int = await connection.fetchval(sql, *query.params)
    return count


SET_STATUS = f"""
WITH o AS (UPDATE offer SET status = $3 WHERE cleaning_id = $1 AND cleaner_id = $2 RETURNING *)
SELECT {OFFER_COLUMNS} FROM o JOIN "user" u ON u.id = o.cleaner_id
"""  # noqa: S608 - OFFER_COLUMNS is a constant


async def set_status(connection: Connection, offer: Offer, status: OfferStatus) -> Offer:
    """The offer in its new status; a second accepted offer on one cleaning is a
    ConstraintViolation (uq_offer_one_accepted_per_cleaning)."""
    with constraints_named():
        record = await connection.fetchrow(
            SET_STATUS, offer.cleaning_id, offer.cleaner_id, status.value
        )
    updated = one(Offer, record)
    assert updated is not None  # the cleaning is locked by this transaction: the offer stays
    return updated


MOVE_OTHERS = (
    "UPDATE offer SET status = $4 WHERE cleaning_id = $1 AND cleaner_id <> $2 AND status = $3"
)


async def move_others(
    connection: Connection,
    cleaning_id: int,
    *,
    except_cleaner_id: int,
    from_status: OfferStatus,
    to_status: OfferStatus,
) -> None:
    await connection.execute(
        MOVE_OTHERS, cleaning_id, except_cleaner_id, from_status.value, to_status.value
    )


REJECT_PENDING = (
    "UPDATE offer SET status = 'rejected' WHERE cleaning_id = $1 AND status = 'pending'"
)


async def reject_pending(connection: Connection, cleaning_id: int) -> None:
    """Every pending offer on a cleaning that is gone."""
    await connection.execute(REJECT_PENDING, cleaning_id)


DELETE_OFFER = "DELETE FROM offer WHERE cleaning_id = $1 AND cleaner_id = $2"


async def delete_offer(connection: Connection, offer: Offer) -> None:
    await connection.execute(DELETE_OFFER, offer.cleaning_id, offer.cleaner_id)
