"""Rating the cleaner: the last step of a cleaning's life."""

from phresh.cleanings import service as cleaning_service
from phresh.db import Connection
from phresh.evaluations import repository
from phresh.evaluations.exceptions import (
    AlreadyEvaluated,
    CleaningNotAssigned,
    EvaluationNotFound,
)
from phresh.evaluations.schemas import EvaluationCreate, EvaluationRead, EvaluationStats
from phresh.events import service as event_service
from phresh.kit.pagination import CursorCodec, Page, after_time_key, keyset_page, time_key
from phresh.kit.repository import ConstraintViolation
from phresh.models import Cleaning, CleaningStatus, Evaluation, EventKind
from phresh.offers import service as offer_service
from phresh.users import service as user_service


async def evaluate_cleaning(
    connection: Connection, cleaning: Cleaning, data: EvaluationCreate
) -> Evaluation:
    """``cleaning`` is the caller's, row-locked: a second evaluation waits, then sees it done."""
    if cleaning.status == CleaningStatus.completed:
        raise AlreadyEvaluated("This cleaning has already been evaluated.")
    if cleaning.status != CleaningStatus.assigned:
        raise CleaningNotAssigned(
            f"Only an assigned cleaning can be evaluated; this one is {cleaning.status}."
        )
    offer = await offer_service.complete_accepted_offer(connection, cleaning)
    try:
        evaluation = await repository.insert_evaluation(
            connection, cleaning_id=cleaning.id, cleaner_id=offer.cleaner_id, **data.model_dump()
        )
    except ConstraintViolation as exc:
        raise AlreadyEvaluated("This cleaning has already been evaluated.") from exc
    await cleaning_service.set_status(connection, cleaning, CleaningStatus.completed)
    await event_service.tell(
        connection,
        cleaning,
        by=cleaning.owner,
        recipients=[(offer.cleaner_id, EventKind.evaluation_created)],
    )
    return evaluation


async def list_evaluations(
    connection: Connection, codec: CursorCodec, username: str, *, limit: int, cursor: str | None
) -> Page[EvaluationRead]:
    cleaner_id = await user_service.get_user_id(connection, username)
    scope = f"evaluations:{cleaner_id}"
    rows = await repository.list_for_cleaner(
        connection, cleaner_id, limit=limit + 1, after=after_time_key(codec, scope, cursor)
    )
    return keyset_page(
        rows,
        limit=limit,
        codec=codec,
        scope=scope,
        key=lambda evaluation: time_key(evaluation.created_at, evaluation.cleaning_id),
        page=Page[EvaluationRead],
    )


async def get_evaluation(connection: Connection, username: str, cleaning_id: int) -> Evaluation:
    cleaner_id = await user_service.get_user_id(connection, username)
    evaluation = await repository.get_evaluation(connection, cleaner_id, cleaning_id)
    if evaluation is None:
        raise EvaluationNotFound(f"{username!r} has no evaluation for cleaning {cleaning_id}.")
    return evaluation


def _rounded(value: object) -> float | None:
    return None if value is None else round(float(str(value)), 2)


async def get_stats(connection: Connection, username: str) -> EvaluationStats:
    cleaner_id = await user_service.get_user_id(connection, username)
    row = await repository.stats_for_cleaner(connection, cleaner_id)
    return EvaluationStats(
        username=username.lower(),
        total=row["total"],
        no_shows=row["no_shows"],
        avg_professionalism=_rounded(row["avg_professionalism"]),
        avg_completeness=_rounded(row["avg_completeness"]),
        avg_efficiency=_rounded(row["avg_efficiency"]),
        avg_overall_rating=_rounded(row["avg_overall_rating"]),
        min_overall_rating=row["min_overall_rating"],
        max_overall_rating=row["max_overall_rating"],
        stars={star: row[f"stars_{star}"] for star in range(6)},
    )
