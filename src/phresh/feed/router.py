from fastapi import APIRouter

from phresh.auth.dependencies import CurrentUser
from phresh.auth.exceptions import InvalidToken
from phresh.db import ConnectionDep
from phresh.dependencies import CursorCodecDep
from phresh.errors import Unauthorized, error_responses
from phresh.feed import service as feed_service
from phresh.feed.schemas import FeedItem
from phresh.kit.pagination import Cursor, InvalidCursor, Limit, Page

router = APIRouter(prefix="/feed", tags=["feed"])


@router.get(
    "/cleanings",
    responses=error_responses(Unauthorized, InvalidToken, InvalidCursor),
    summary="What happened to cleanings: created and updated events, newest first",
)
async def list_cleaning_feed(
    user: CurrentUser,
    connection: ConnectionDep,
    codec: CursorCodecDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> Page[FeedItem]:
    return await feed_service.list_feed(connection, codec, limit=limit, cursor=cursor)
