"""All SQL about evaluations."""

from datetime import datetime

import asyncpg

from phresh.db import Connection
from phresh.kit.repository import SqlBuilder, constraints_named, each, one, select_list
from phresh.models import Evaluation

# An evaluation as every read answers it (phresh.models.Evaluation): with the cleaner's
# username.
EVALUATION_COLUMNS = select_list(Evaluation, "e", cleaner="u.username")
FROM_EVALUATION = 'FROM evaluation e JOIN "user" u ON u.id = e.cleaner_id'

INSERT_EVALUATION = f"""
WITH e AS (
    INSERT INTO evaluation (
        cleaning_id, cleaner_id, no_show, headline, comment, professionalism, completeness,
        efficiency, overall_rating
    )
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    RETURNING *
)
SELECT {EVALUATION_COLUMNS} FROM e JOIN "user" u ON u.id = e.cleaner_id
"""  # noqa: S608 - EVALUATION_COLUMNS is a constant


async def insert_evaluation(
    connection: Connection,
    *,
    cleaning_id: int,
    cleaner_id: int,
    no_show: bool,
    headline: str | None,
    comment: str | None,
    professionalism: int | None,
    completeness: int | None,
    efficiency: int | None,
    overall_rating: int,
) -> Evaluation:
    """A second evaluation of a cleaning is a ConstraintViolation."""
    with constraints_named():
        record = await connection.fetchrow(
            INSERT_EVALUATION,
            cleaning_id,
            cleaner_id,
            no_show,
            headline,
            comment,
            professionalism,
            completeness,
            efficiency,
            overall_rating,
        )
    evaluation = one(Evaluation, record)
    assert evaluation is not None  # INSERT ... RETURNING always answers its row
    return evaluation


async def list_for_cleaner(
    connection: Connection, cleaner_id: int, *, limit: int, after: tuple[datetime, int] | None
) -> list[Evaluation]:
    """Newest first; keyset on (created_at, cleaning_id), ix_evaluation_cleaner_id_created_at."""
    query = SqlBuilder(cleaner_id)
    keyset = ""
    if after is not None:
        key = query.row(*after)
        keyset = f"AND (e.created_at, e.cleaning_id) < {key} "
    sql = (
        f"SELECT {EVALUATION_COLUMNS} {FROM_EVALUATION} "
        f"WHERE e.cleaner_id = $1 {keyset}"
        f"ORDER BY e.created_at DESC, e.cleaning_id DESC LIMIT {query.param(limit)}"
    )
    return each(Evaluation, await connection.fetch(sql, *query.params))


EVALUATION_BY_KEY = (
    f"SELECT {EVALUATION_COLUMNS} {FROM_EVALUATION} WHERE e.cleaner_id = $1 AND e.cleaning_id = $2"
)


async def get_evaluation(
    connection: Connection, cleaner_id: int, cleaning_id: int
) -> Evaluation | None:
    return one(Evaluation, await connection.fetchrow(EVALUATION_BY_KEY, cleaner_id, cleaning_id))


STATS_SQL = """
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


async def stats_for_cleaner(connection: Connection, cleaner_id: int) -> asyncpg.Record:
    """Every figure of the stats endpoint, in one query (ix_evaluation_cleaner_id_created_at)."""
    record = await connection.fetchrow(STATS_SQL, cleaner_id)
    assert record is not None  # an aggregate without GROUP BY always answers one row
    return record
