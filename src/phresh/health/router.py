from fastapi import APIRouter, Request

from phresh.db import get_database
from phresh.errors import error_responses
from phresh.health import service as health_service
from phresh.health.schemas import Liveness, Readiness

router = APIRouter(prefix="/health", tags=["health"])


@router.get("/live", summary="200 while the process runs")
async def read_liveness() -> Liveness:
    return Liveness()


@router.get(
    "/ready",
    responses=error_responses(health_service.NotReady),
    summary=(
        "200 when the database answers and is migrated to this code's head or later (and how "
        "the read replica fares, if any); 503 with a reason otherwise"
    ),
)
async def read_readiness(request: Request) -> Readiness:
    return await health_service.check_ready(
        get_database(request),
        request.app.state.migration_head,
        shutting_down=request.app.state.shutdown.began,
    )
