"""Phresh's SQL, statement for statement, as PostgreSQL receives it from Phresh.

The reference app runs these and nothing else, in the same order and the same transactions,
so a gap between it and Phresh is the cost of the framework and the layers above the
database, not of different queries. Phresh's repositories are plain SQL with ``$n``
parameters on an asyncpg pool; the statements are imported from them (the listing and search
statements assembled by Phresh's own ``public_list_sql``, with their parameter order checked
here at import), so this module follows Phresh's SQL by construction. The comments give each
statement's parameters, in the order the reference binds them. ``python -m bench.run
--parity-only`` compares the two apps call by call.
"""

from datetime import UTC, datetime
from typing import Any

from phresh.auth import repository as auth
from phresh.cleanings import repository as cleanings
from phresh.cleanings.schemas import CleaningListQuery, CleaningSort
from phresh.evaluations import repository as evaluations
from phresh.events import repository as events
from phresh.feed import repository as feed
from phresh.offers import repository as offers
from phresh.users import repository as users

# CurrentUser: auth/repository.py get_user_of_session, $1 the token's session id (sid), $2 its
# user id; its columns are phresh.models.User's (id, username, email, password_hash, ...).
USER_OF_SESSION = auth.USER_OF_SESSION

# users/repository.py get_user_id_by_username: $1 the lower-cased username
USER_ID_BY_USERNAME = users.USER_ID_BY_USERNAME

# A cleaning as Phresh reads it (phresh.models.Cleaning): id, owner_id, owner (the owner's
# username), name, description, cleaning_type, price, status, created_at, updated_at,
# deleted_at.
CLEANING_COLUMNS = cleanings.CLEANING_COLUMNS
FROM_CLEANING = cleanings.FROM_CLEANING
LIVE_OPEN = cleanings.LIVE_OPEN

# GET /cleanings/{id}: cleanings/repository.py LIVE_BY_ID, $1 the id
CLEANING_READ = cleanings.LIVE_BY_ID


def _assembled(
    expected: list[Any],
    *,
    sort: CleaningSort,
    after: list[Any] | None,
    limit: int,
    q: str | None = None,
    tsquery: str | None = None,
) -> str:
    """The listing statement Phresh's public_list_sql builds for these arguments, once its
    parameters are known to come in ``expected``'s order (the order the reference binds)."""
    query = CleaningListQuery() if q is None else CleaningListQuery(q=q)
    statement, params = cleanings.public_list_sql(
        query, sort=sort, after=after, limit=limit, tsquery=tsquery
    )
    if params != expected:
        raise RuntimeError(
            f"Phresh's {sort} listing now binds {params!r}, not {expected!r}: "
            "bench/reference/app.py must bind its parameters in the new order"
        )
    return statement


_AT = "2000-01-01T00:00:00+00:00"

# GET /cleanings (newest first): $1 limit
LIST_NEWEST = _assembled([3], sort=CleaningSort.newest, after=None, limit=3)
# ... after a cursor: ($1, $2) the last row's (created_at, id), $3 limit
LIST_NEWEST_AFTER = _assembled(
    [datetime(2000, 1, 1, tzinfo=UTC), 7, 3],
    sort=CleaningSort.newest,
    after=[_AT, 7],
    limit=3,
)

# GET /cleanings?q=: first cleanings/repository.py TO_TSQUERY, $1 q as phresh.cleanings.search
# rebuilt it (no statement at all when nothing in q is searchable) ...
TO_TSQUERY = cleanings.TO_TSQUERY
# ... then the relevance page (_relevance_sql): $1 the tsquery, $2 limit
SEARCH = _assembled(
    ["'oven'", 3], sort=CleaningSort.relevance, after=None, limit=3, q="oven", tsquery="'oven'"
)
# ... after a cursor: $1 the tsquery, ($2, $3) the last row's (rank, id), $4 limit
SEARCH_AFTER = _assembled(
    ["'oven'", 0.5, 7, 3],
    sort=CleaningSort.relevance,
    after=[0.5, 7],
    limit=3,
    q="oven",
    tsquery="'oven'",
)

# POST /cleanings: cleanings/repository.py INSERT_CLEANING; $1 owner id, $2 name,
# $3 description, $4 cleaning type, $5 price
INSERT_CLEANING = cleanings.INSERT_CLEANING

# GET /feed/cleanings: feed/repository.py FEED_SQL; ($1, $2) before, $3 limit; columns: event,
# event_at, then CLEANING_COLUMNS
FEED = feed.FEED_SQL

# GET /users/{username}/evaluations/stats: evaluations/repository.py STATS_SQL, $1 cleaner id
EVALUATION_STATS = evaluations.STATS_SQL

# The offer transitions.
# cleanings/repository.py LIVE_FOR_UPDATE (accept, cancel) and LIVE_FOR_SHARE (make_offer):
# the live cleaning, row-locked; $1 the id
CLEANING_BY_ID_FOR_UPDATE = cleanings.LIVE_FOR_UPDATE
CLEANING_BY_ID_FOR_SHARE = cleanings.LIVE_FOR_SHARE
# offers/repository.py OFFER_BY_KEY: $1 cleaning id, $2 cleaner id; an offer as Phresh reads
# it (phresh.models.Offer): cleaning_id, cleaner_id, cleaner (the username), status,
# created_at, updated_at
OFFER = offers.OFFER_BY_KEY
# offers/repository.py INSERT_OFFER: $1 cleaning id, $2 cleaner id; the new offer's row
INSERT_OFFER = offers.INSERT_OFFER
# offers/repository.py SET_STATUS: $1 cleaning id, $2 cleaner id, $3 status; the offer's row
SET_OFFER_STATUS = offers.SET_STATUS
# offers/repository.py MOVE_OTHERS: $1 cleaning id, $2 except cleaner id, $3 from status,
# $4 to status
MOVE_OTHER_OFFERS = offers.MOVE_OTHERS
# cleanings/repository.py SET_STATUS: $1 cleaning id, $2 status
SET_CLEANING_STATUS = cleanings.SET_STATUS
# events/repository.py RECORD_FOR: $1 cleaning id, $2 data (JSON text), $3 recipients' user
# ids, $4 their kinds; the events and their NOTIFY, in the transaction
RECORD_EVENTS = events.RECORD_FOR
# events/repository.py RECORD_OFFER_DECISION: $1 cleaning id, $2 data, $3 accepted cleaner id
RECORD_OFFER_DECISION = events.RECORD_OFFER_DECISION
