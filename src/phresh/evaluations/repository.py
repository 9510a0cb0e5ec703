"""All SQL about evaluations."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import RowMapping, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from phresh.kit.repository import fetch_one, flush
from phresh.models import Evaluation


async def insert_evaluation(session: AsyncSession, evaluation: Evaluation) -> Evaluation:
    await flush(session, evaluation)
    return evaluation


async def list_for_cleaner(
    session: AsyncSession, cleaner_id: int, *, limit: int, after: tuple[datetime, int] | None
) -> Sequence[Evaluation]:
    """Newest first; keyset on (created_at, cleaning_id), ix_evaluation_cleaner_id_created_at."""
    statement = (
        select(Evaluation)
        .options(joinedload(Evaluation.cleaner))
        .where(Evaluation.cleaner_id == cleaner_id)
    )
    if after is not None:
        statement = statement.where(tuple_(Evaluation.created_at, Evaluation.cleaning_id) < after)
    statement = statement.order_by(
        Evaluation.created_at.desc(), Evaluation.cleaning_id.desc()
    ).limit(limit)
    return (await session.scalars(statement)).all()


async def get_evaluation(
    session: AsyncSession, cleaner_id: int, cleaning_id: int
) -> Evaluation | None:
    statement = (
        select(Evaluation)
        .options(joinedload(Evaluation.cleaner))
        .where(Evaluation.cleaner_id == cleaner_id, Evaluation.cleaning_id == cleaning_id)
    )
    return await session.scalar(statement)


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
WHERE cleaner_id = :cleaner_id
"""


async def stats_for_cleaner(session: AsyncSession, cleaner_id: int) -> RowMapping:
    """Every figure of the stats endpoint, in one query (ix_evaluation_cleaner_id_created_at)."""
    row = await fetch_one(session, STATS_SQL, {"cleaner_id": cleaner_id})
    assert row is not None  # an aggregate without GROUP BY always answers one row
    return row
