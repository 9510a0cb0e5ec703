import httpx
from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from phresh.kit.routes import route_template


class SeenTemplates:
    """Notes the template of each request, after the app answered it."""

    def __init__(self, app: ASGIApp, *, seen: list[str | None]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            self.seen.append(route_template(scope))


async def thing(thing_id: int) -> dict[str, int]:
    return {"id": thing_id}


def app_seeing(seen: list[str | None]) -> FastAPI:
    router = APIRouter(prefix="/things")
    router.add_api_route("/{thing_id}", thing, methods=["GET"])
    app = FastAPI()
    # One router under two prefixes: each request is told by its own.
    app.include_router(router, prefix="/api/v1")
    app.include_router(router, prefix="/api/v2")
    app.add_middleware(SeenTemplates, seen=seen)
    return app


async def get(app: FastAPI, *paths: str) -> list[int]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return [(await client.get(path)).status_code for path in paths]


async def test_the_template_has_every_prefix_and_no_value_of_the_path() -> None:
    seen: list[str | None] = []

    statuses = await get(app_seeing(seen), "/api/v1/things/7", "/api/v2/things/8", "/nope/9")

    assert statuses == [200, 200, 404]
    assert seen == ["/api/v1/things/{thing_id}", "/api/v2/things/{thing_id}", None]


async def item(item_id: int) -> dict[str, int]:
    return {"id": item_id}


async def test_a_route_included_after_the_first_request_is_found_with_its_prefix() -> None:
    seen: list[str | None] = []
    app = app_seeing(seen)
    await get(app, "/api/v1/things/1")

    later = APIRouter(prefix="/later")
    later.add_api_route("/{item_id}", item, methods=["GET"])
    app.include_router(later, prefix="/api/v1")
    statuses = await get(app, "/api/v1/later/2")

    assert statuses == [200]
    assert seen == ["/api/v1/things/{thing_id}", "/api/v1/later/{item_id}"]
