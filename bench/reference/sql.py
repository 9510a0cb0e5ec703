"""Phresh's SQL, statement for statement, as PostgreSQL receives it from Phresh.

The reference app runs these and nothing else, in the same order and the same transactions,
so a gap between it and Phresh is the cost of the framework, the ORM and the validation
layers, not of different queries. Mirrors Phresh at 8834f0e: the hot reads, POST /cleanings
and the stats are plain SQL in Phresh's repositories (copied here verbatim); the offer
transitions still go through the ORM (the statements SQLAlchemy compiles, captured from the
server's log). ``python -m bench.run --parity-only`` compares the two apps call by call and
prints Phresh's statements when this file needs to follow a change.
"""

# ruff: noqa: S608 - every statement here is built from this module's constants only

# CurrentUser: users/repository.py get_user_by_id (session.get, as SQLAlchemy renders it),
# $1 the token's user id
USER_BY_ID = (
    'SELECT "user".id, "user".username, "user".email, "user".password_hash, '
    '"user".is_active, "user".is_superuser, "user".email_verified, "user".created_at, '
    '"user".updated_at \nFROM "user" \nWHERE "user".id = $1::BIGINT'
)

# users/repository.py get_user_id_by_username: $1 the lower-cased username
USER_ID_BY_USERNAME = 'SELECT "user".id \nFROM "user" \nWHERE "user".username = $1::VARCHAR'

_CLEANING_COLUMNS = (
    "c.id, u.username AS owner, c.name, c.description, c.cleaning_type, c.price, c.status, "
    "c.created_at, c.updated_at"
)
_FROM_CLEANING = 'FROM cleaning c JOIN "user" u ON u.id = c.owner_id'
_LIVE_OPEN = "c.status = 'open' AND c.deleted_at IS NULL"
_TSQUERY = "CAST($1 AS tsquery)"

# GET /cleanings/{id}: cleanings/repository.py CLEANING_READ, $1 the id
CLEANING_READ = """
SELECT c.id, u.username AS owner, c.name, c.description, c.cleaning_type, c.price, c.status,
       c.created_at, c.updated_at
FROM cleaning c JOIN "user" u ON u.id = c.owner_id
WHERE c.id = $1 AND c.deleted_at IS NULL
"""

# GET /cleanings (newest first), as public_list_sql assembles it: $1 limit
LIST_NEWEST = (
    f"SELECT {_CLEANING_COLUMNS}, NULL::real AS rank {_FROM_CLEANING} "
    f"WHERE {_LIVE_OPEN} ORDER BY c.created_at DESC, c.id DESC LIMIT $1"
)
# ... after a cursor: ($1, $2) the last row's (created_at, id), $3 limit
LIST_NEWEST_AFTER = (
    f"SELECT {_CLEANING_COLUMNS}, NULL::real AS rank {_FROM_CLEANING} "
    f"WHERE {_LIVE_OPEN} AND (c.created_at, c.id) < ($1, $2) "
    "ORDER BY c.created_at DESC, c.id DESC LIMIT $3"
)
# GET /cleanings?q=: first cleanings/repository.py TO_TSQUERY, $1 q as phresh.cleanings.search
# rebuilt it (no statement at all when nothing in q is searchable) ...
TO_TSQUERY = (
    "SELECT t.query::text AS query, querytree(t.query) AS indexable "
    "FROM websearch_to_tsquery('english', $1) AS t(query)"
)
# ... then the relevance page, as _relevance_sql and _window_ctes assemble it: the newest
# 1,000 matches, looked for among the newest 10,000 open cleanings first, older ones only if
# fewer matched there; owners joined for the page only. $1 the tsquery, $2 limit
_SEARCH_WINDOW = (
    "WITH recent AS MATERIALIZED (SELECT c.id, c.created_at, c.search FROM cleaning c "
    f"WHERE {_LIVE_OPEN} ORDER BY c.created_at DESC, c.id DESC LIMIT 10000), "
    f"recent_hits AS (SELECT r.* FROM recent r WHERE r.search @@ {_TSQUERY} LIMIT 1000), "
    "older_hits AS (SELECT c.id, c.created_at, c.search FROM cleaning c "
    f"WHERE {_LIVE_OPEN} AND c.search @@ {_TSQUERY} "
    "AND (SELECT count(*) FROM recent_hits) < 1000 "
    "AND (c.created_at, c.id) < "
    "(SELECT r.created_at, r.id FROM recent r ORDER BY r.created_at, r.id LIMIT 1) "
    "ORDER BY c.created_at DESC, c.id DESC LIMIT 1000), "
    "window_hits AS (SELECT h.* FROM "
    "(SELECT * FROM recent_hits UNION ALL SELECT * FROM older_hits) h "
    "ORDER BY h.created_at DESC, h.id DESC LIMIT 1000), "
    f"ranked AS (SELECT w.id, ts_rank_cd(w.search, {_TSQUERY}) AS rank FROM window_hits w), "
)
_SEARCH_PAGE = (
    f"SELECT {_CLEANING_COLUMNS}, p.rank FROM page p "
    'JOIN cleaning c ON c.id = p.id JOIN "user" u ON u.id = c.owner_id '
    "ORDER BY p.rank DESC, p.id DESC"
)
SEARCH = (
    _SEARCH_WINDOW
    + "page AS (SELECT * FROM ranked r ORDER BY r.rank DESC, r.id DESC LIMIT $2) "
    + _SEARCH_PAGE
)
# ... after a cursor: $1 the tsquery, ($2, $3) the last row's (rank, id), $4 limit
SEARCH_AFTER = (
    _SEARCH_WINDOW
    + "page AS (SELECT * FROM ranked r WHERE (r.rank, r.id) < (CAST($2 AS real), $3) "
    + "ORDER BY r.rank DESC, r.id DESC LIMIT $4) "
    + _SEARCH_PAGE
)

# POST /cleanings: cleanings/repository.py INSERT_CLEANING; $1 owner id, $2 name,
# $3 description, $4 cleaning type, $5 price
INSERT_CLEANING = """
WITH inserted AS (
    INSERT INTO cleaning (owner_id, name, description, cleaning_type, price)
    VALUES ($1, $2, $3, $4, $5)
    RETURNING *
)
SELECT c.id, u.username AS owner, c.name, c.description, c.cleaning_type, c.price, c.status,
       c.created_at, c.updated_at
FROM inserted c JOIN "user" u ON u.id = c.owner_id
"""

# GET /feed/cleanings: feed/repository.py FEED_SQL; ($1, $2) before, $3 limit
FEED = f"""
SELECT e.event, e.event_at, {_CLEANING_COLUMNS}
FROM (
    (SELECT id, 'created' AS event, created_at AS event_at
     FROM cleaning
     WHERE deleted_at IS NULL AND (created_at, id) < ($1, $2)
     ORDER BY created_at DESC, id DESC LIMIT $3)
    UNION ALL
    (SELECT id, 'updated' AS event, updated_at AS event_at
     FROM cleaning
     WHERE deleted_at IS NULL AND updated_at > created_at AND (updated_at, id) < ($1, $2)
     ORDER BY updated_at DESC, id DESC LIMIT $3)
) AS e
JOIN cleaning c ON c.id = e.id
JOIN "user" u ON u.id = c.owner_id
ORDER BY e.event_at DESC, e.id DESC
LIMIT $3
"""

# GET /users/{username}/evaluations/stats: evaluations/repository.py STATS_SQL, $1 cleaner id
EVALUATION_STATS = """
SELECT count(*) AS total,
       count(*) FILTER (WHERE no_show) AS no_shows,
       avg(professionalism) AS avg_professionalism,
       avg(completeness) AS avg_completeness,
       avg(efficiency) AS avg_efficiency,
       avg(overall_rating) AS avg_overall_rating,
       min(overall_rating) AS min_overall_rating,
       max(overall_rating) AS max_overall_rating,
       count(*) FILTER (WHERE overall_rating = 0) AS stars_0,
       count(*) FILTER (WHERE overall_rating = 1) AS stars_1,
       count(*) FILTER (WHERE overall_rating = 2) AS stars_2,
       count(*) FILTER (WHERE overall_rating = 3) AS stars_3,
       count(*) FILTER (WHERE overall_rating = 4) AS stars_4,
       count(*) FILTER (WHERE overall_rating = 5) AS stars_5
FROM evaluation
WHERE cleaner_id = $1
"""

# The offer transitions, still ORM statements in Phresh (SQLAlchemy's compiled text).
_ORM_CLEANING_COLUMNS = (
    "cleaning.id, cleaning.owner_id, cleaning.name, cleaning.description, "
    "cleaning.cleaning_type, cleaning.price, cleaning.status, cleaning.deleted_at, "
    "cleaning.created_at, cleaning.updated_at"
)
_ORM_OWNER_COLUMNS = (
    "user_1.id AS id_1, user_1.username, user_1.email, user_1.password_hash, "
    "user_1.is_active, user_1.is_superuser, user_1.email_verified, "
    "user_1.created_at AS created_at_1, user_1.updated_at AS updated_at_1"
)
# cleaning repository _live() + id: the live cleaning joined with its owner, $1 the id
_ORM_CLEANING_BY_ID = (
    f"SELECT {_ORM_CLEANING_COLUMNS}, {_ORM_OWNER_COLUMNS} \n"
    'FROM cleaning JOIN "user" AS user_1 ON user_1.id = cleaning.owner_id \n'
    "WHERE cleaning.deleted_at IS NULL AND cleaning.id = $1::BIGINT"
)
CLEANING_BY_ID_FOR_UPDATE = _ORM_CLEANING_BY_ID + " FOR UPDATE OF cleaning"
# make_offer takes the share lock
CLEANING_BY_ID_FOR_SHARE = _ORM_CLEANING_BY_ID + " FOR SHARE OF cleaning"

# Offers: the offer joined with its cleaner; $1 cleaning id, $2 cleaner id
OFFER = (
    "SELECT offer.cleaning_id, offer.cleaner_id, offer.status, offer.created_at, "
    "offer.updated_at, user_1.id, user_1.username, user_1.email, user_1.password_hash, "
    "user_1.is_active, user_1.is_superuser, user_1.email_verified, "
    "user_1.created_at AS created_at_1, user_1.updated_at AS updated_at_1 \n"
    'FROM offer JOIN "user" AS user_1 ON user_1.id = offer.cleaner_id \n'
    "WHERE offer.cleaning_id = $1::BIGINT AND offer.cleaner_id = $2::BIGINT"
)
# POST /cleanings/{id}/offers: $1 cleaning id, $2 cleaner id
INSERT_OFFER = (
    "INSERT INTO offer (cleaning_id, cleaner_id) VALUES ($1::BIGINT, $2::BIGINT) "
    "RETURNING offer.status, offer.created_at, offer.updated_at"
)
# $1 new status, $2 cleaning id, $3 cleaner id
SET_OFFER_STATUS = (
    "UPDATE offer SET status=$1 WHERE offer.cleaning_id = $2::BIGINT AND "
    "offer.cleaner_id = $3::BIGINT RETURNING offer.updated_at"
)
# $1 to status, $2 cleaning id, $3 except cleaner id, $4 from status
MOVE_OTHER_OFFERS = (
    "UPDATE offer SET status=$1 WHERE offer.cleaning_id = $2::BIGINT AND "
    "offer.cleaner_id != $3::BIGINT AND offer.status = $4"
)
# $1 status, $2 cleaning id
SET_CLEANING_STATUS = (
    "UPDATE cleaning SET status=$1 WHERE cleaning.id = $2::BIGINT "
    "RETURNING cleaning.search, cleaning.updated_at"
)
