"""All SQL about evaluations."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from phresh.kit.repository import ConstraintViolation, violated_constraint
from phresh.models import Evaluation


async def insert_evaluation(session: AsyncSession, evaluation: Evaluation) -> Evaluation:
    session.add(evaluation)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ConstraintViolation(violated_constraint(exc)) from exc
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


async def stats_for_cleaner(session: AsyncSession, cleaner_id: int) -> dict[str, Any]:
    """Every figure of the stats endpoint, in one query."""
    overall = Evaluation.overall_rating
    statement = select(
        func.count().label("total"),
        func.count().filter(Evaluation.no_show).label("no_shows"),
        func.avg(Evaluation.professionalism).label("avg_professionalism"),
        func.avg(Evaluation.completeness).label("avg_completeness"),
        func.avg(Evaluation.efficiency).label("avg_efficiency"),
        func.avg(overall).label("avg_overall_rating"),
        func.min(overall).label("min_overall_rating"),
        func.max(overall).label("max_overall_rating"),
        *(func.count().filter(overall == star).label(f"stars_{star}") for star in range(1, 6)),
    ).where(Evaluation.cleaner_id == cleaner_id)
    row = (await session.execute(statement)).one()
    return dict(row._mapping)
