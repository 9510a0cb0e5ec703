"""Phresh's SQL, statement for statement, as SQLAlchemy sends it (captured with
``PHRESH_DB_ECHO=true`` against the bench database; see bench/README.md).

The reference app runs these and nothing else, so a gap between it and Phresh is the cost of
the framework, the ORM and the validation layers, not of different queries. If Phresh's SQL
changes, capture it again and update this file.
"""

_USER_COLUMNS = (
    '"user".id, "user".username, "user".email, "user".password_hash, "user".is_active, '
    '"user".is_superuser, "user".email_verified, "user".created_at, "user".updated_at'
)
_CLEANING_COLUMNS = (
    "cleaning.id, cleaning.owner_id, cleaning.name, cleaning.description, "
    "cleaning.cleaning_type, cleaning.price, cleaning.status, cleaning.deleted_at, "
    "cleaning.created_at, cleaning.updated_at"
)
_OWNER_COLUMNS = (
    "user_1.id AS id_1, user_1.username, user_1.email, user_1.password_hash, "
    "user_1.is_active, user_1.is_superuser, user_1.email_verified, "
    "user_1.created_at AS created_at_1, user_1.updated_at AS updated_at_1"
)
_OWNER_JOIN = 'FROM cleaning JOIN "user" AS user_1 ON user_1.id = cleaning.owner_id'

# CurrentUser: session.get(User, id)
USER_BY_ID = f'SELECT {_USER_COLUMNS} \nFROM "user" \nWHERE "user".id = $1::BIGINT'

# user_service.get_user_id(username)
USER_ID_BY_USERNAME = 'SELECT "user".id \nFROM "user" \nWHERE "user".username = $1::VARCHAR'

# cleaning repository get_cleaning: the live cleaning joined with its owner
CLEANING_BY_ID = (
    f"SELECT {_CLEANING_COLUMNS}, {_OWNER_COLUMNS} \n{_OWNER_JOIN} \n"
    "WHERE cleaning.deleted_at IS NULL AND cleaning.id = $1::BIGINT"
)
CLEANING_BY_ID_FOR_UPDATE = CLEANING_BY_ID + " FOR UPDATE OF cleaning"
# make_offer and rescind take the share lock
CLEANING_BY_ID_FOR_SHARE = CLEANING_BY_ID + " FOR SHARE OF cleaning"

_LIST_ORDER_NEWEST = "ORDER BY cleaning.created_at DESC, cleaning.id DESC"

# GET /cleanings (sort newest): $1 status, $2 limit
LIST_NEWEST = (
    f"SELECT {_CLEANING_COLUMNS}, NULL AS rank, {_OWNER_COLUMNS} \n{_OWNER_JOIN} \n"
    f"WHERE cleaning.status = $1 AND cleaning.deleted_at IS NULL {_LIST_ORDER_NEWEST} \n"
    " LIMIT $2::INTEGER"
)
# ... after a cursor: $1 status, ($2, $3) the last row's (created_at, id), $4 limit
LIST_NEWEST_AFTER = (
    f"SELECT {_CLEANING_COLUMNS}, NULL AS rank, {_OWNER_COLUMNS} \n{_OWNER_JOIN} \n"
    "WHERE cleaning.status = $1 AND cleaning.deleted_at IS NULL AND "
    "(cleaning.created_at, cleaning.id) < ($2::TIMESTAMP WITH TIME ZONE, $3::BIGINT) "
    f"{_LIST_ORDER_NEWEST} \n LIMIT $4::INTEGER"
)

_TSQUERY_1 = "websearch_to_tsquery('english'::regconfig, $1::VARCHAR)"
_TSQUERY_3 = "websearch_to_tsquery('english'::regconfig, $3::VARCHAR)"
_RANK = f"ts_rank_cd(cleaning.search, {_TSQUERY_1})"

# GET /cleanings?q= (sort relevance): $1 q, $2 status, $3 q, $4 limit
SEARCH = (
    f"SELECT {_CLEANING_COLUMNS}, {_RANK} AS rank, {_OWNER_COLUMNS} \n{_OWNER_JOIN} \n"
    f"WHERE cleaning.status = $2 AND cleaning.deleted_at IS NULL AND "
    f"(cleaning.search @@ {_TSQUERY_3}) ORDER BY {_RANK} DESC, cleaning.id DESC \n"
    " LIMIT $4::INTEGER"
)
# ... after a cursor: $1 q, $2 status, $3 q, ($4, $5) the last (rank, id), $6 limit
SEARCH_AFTER = (
    f"SELECT {_CLEANING_COLUMNS}, {_RANK} AS rank, {_OWNER_COLUMNS} \n{_OWNER_JOIN} \n"
    f"WHERE cleaning.status = $2 AND cleaning.deleted_at IS NULL AND "
    f"(cleaning.search @@ {_TSQUERY_3}) AND "
    f"(CAST({_RANK} AS FLOAT), cleaning.id) < ($4::FLOAT, $5::BIGINT) "
    f"ORDER BY {_RANK} DESC, cleaning.id DESC \n LIMIT $6::INTEGER"
)

# POST /cleanings: the ORM flush. deleted_at is sent as NULL and the tsvector comes back
# (eager_defaults returns every server-generated column, the deferred ``search`` included).
INSERT_CLEANING = (
    "INSERT INTO cleaning (owner_id, name, description, cleaning_type, price, deleted_at) "
    "VALUES ($1::BIGINT, $2::VARCHAR, $3::VARCHAR, $4, $5::NUMERIC(10, 2), "
    "$6::TIMESTAMP WITH TIME ZONE) RETURNING cleaning.id, cleaning.status, cleaning.search, "
    "cleaning.created_at, cleaning.updated_at"
)

# GET /feed/cleanings: $1 'created', ($2, $3) before, $4 limit, $5 'updated', ($6, $7) before,
# $8 limit, $9 limit
FEED = (
    f"SELECT events.event, events.event_at, {_CLEANING_COLUMNS}, {_OWNER_COLUMNS} \n"
    "FROM (SELECT anon_1.id AS id, anon_1.event AS event, anon_1.event_at AS event_at \n"
    "FROM (SELECT cleaning.id AS id, $1::VARCHAR AS event, cleaning.created_at AS event_at \n"
    "FROM cleaning \n"
    "WHERE cleaning.deleted_at IS NULL AND (cleaning.created_at, cleaning.id) < "
    "($2::TIMESTAMP WITH TIME ZONE, $3::BIGINT) ORDER BY cleaning.created_at DESC, "
    "cleaning.id DESC \n"
    " LIMIT $4::INTEGER) AS anon_1 UNION ALL SELECT anon_2.id AS id, anon_2.event AS event, "
    "anon_2.event_at AS event_at \n"
    "FROM (SELECT cleaning.id AS id, $5::VARCHAR AS event, cleaning.updated_at AS event_at \n"
    "FROM cleaning \n"
    "WHERE cleaning.deleted_at IS NULL AND cleaning.updated_at > cleaning.created_at AND "
    "(cleaning.updated_at, cleaning.id) < ($6::TIMESTAMP WITH TIME ZONE, $7::BIGINT) "
    "ORDER BY cleaning.updated_at DESC, cleaning.id DESC \n"
    " LIMIT $8::INTEGER) AS anon_2) AS events JOIN cleaning ON cleaning.id = events.id "
    'JOIN "user" AS user_1 ON user_1.id = cleaning.owner_id ORDER BY events.event_at DESC, '
    "events.id DESC \n"
    " LIMIT $9::INTEGER"
)

# GET /users/{username}/evaluations/stats: $1..$5 the stars 1-5, $6 cleaner id
EVALUATION_STATS = (
    "SELECT count(*) AS total, count(*) FILTER (WHERE evaluation.no_show) AS no_shows, "
    "avg(evaluation.professionalism) AS avg_professionalism, "
    "avg(evaluation.completeness) AS avg_completeness, "
    "avg(evaluation.efficiency) AS avg_efficiency, "
    "avg(evaluation.overall_rating) AS avg_overall_rating, "
    "min(evaluation.overall_rating) AS min_overall_rating, "
    "max(evaluation.overall_rating) AS max_overall_rating, "
    + ", ".join(
        f"count(*) FILTER (WHERE evaluation.overall_rating = ${star}::SMALLINT) AS stars_{star}"
        for star in range(1, 6)
    )
    + " \nFROM evaluation \nWHERE evaluation.cleaner_id = $6::BIGINT"
)

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
