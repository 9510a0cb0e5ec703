"""The built web app served at /: assets cached for good, the page revalidated and locked to
its own origin, client routes answered with the page, the API and the docs untouched."""

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from phresh.db import Connection
from phresh.errors import PROBLEM_JSON
from tests.fixtures.client import app_on, client_of
from tests.fixtures.database import make_settings

ROOT = "http://test"
INDEX = '<!doctype html><html><head><script type="module" src="/assets/app-abc123.js"></script>'
SCRIPT = "console.log('phresh');\n"
ICON = '<svg xmlns="http://www.w3.org/2000/svg"/>'
SECRET = "outside the build"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    """A build as Vite lays it out, with a file beside it that must stay out of reach."""
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "app-abc123.js").write_text(SCRIPT)
    (dist / "favicon.svg").write_text(ICON)
    (tmp_path / "secret.txt").write_text(SECRET)
    return dist


@pytest.fixture
async def web(
    database_url: str, connection: Connection, dist: Path
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, web_dir=dist)
    async with app_on(settings, connection) as app, client_of(app) as client:
        yield client


def assert_page(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


def assert_problem(response: httpx.Response, status: int = 404) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["status"] == status


async def test_assets_are_cached_for_a_year(web: httpx.AsyncClient) -> None:
    response = await web.get(f"{ROOT}/assets/app-abc123.js")

    assert response.status_code == 200
    assert response.text == SCRIPT
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", ["/assets/app-zzz999.js", "/assets/", "/assets/sub/app.js"])
async def test_a_missing_asset_is_a_404_never_the_page(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(ROOT + path)

    assert_problem(response)
    assert INDEX not in response.text


async def test_an_asset_removed_by_a_rebuild_is_a_404(web: httpx.AsyncClient, dist: Path) -> None:
    (dist / "assets" / "app-abc123.js").unlink()

    assert_problem(await web.get(f"{ROOT}/assets/app-abc123.js"))


async def test_top_level_files_are_served_and_revalidated(web: httpx.AsyncClient) -> None:
    response = await web.get(f"{ROOT}/favicon.svg")

    assert response.status_code == 200
    assert response.text == ICON
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["cache-control"] == "no-cache"
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/index.html",
        "/cleanings/12",
        "/cleanings/12/",
        "/verify-email?token=abc-DEF_123",
        "/reset-password?token=abc&next=%2Fcleanings",
        "/favicon.svg/x",
    ],
)
async def test_client_routes_answer_the_page(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(ROOT + path)

    assert_page(response)
    assert response.text == INDEX


@pytest.mark.parametrize("path", ["/api/v1/nope", "/api/nope", "/api", "/docs/nope"])
async def test_unknown_api_and_docs_paths_stay_a_json_404(
    web: httpx.AsyncClient, path: str
) -> None:
    response = await web.get(ROOT + path)

    assert_problem(response)


async def test_the_api_and_the_docs_come_first(web: httpx.AsyncClient) -> None:
    assert (await web.get(f"{ROOT}/api/v1/health/live")).json() == {"status": "ok"}
    assert (await web.get(f"{ROOT}/api/v1/openapi.json")).json()["openapi"].startswith("3.1")
    docs = await web.get(f"{ROOT}/docs")
    assert "swagger-ui" in docs.text
    assert (await web.get(f"{ROOT}/api/v1")).status_code == 307
    # A path some route serves with other methods still answers 405, not the page.
    assert_problem(await web.get(f"{ROOT}/api/v1/auth/token"), 405)


async def test_other_methods_are_not_the_page(web: httpx.AsyncClient) -> None:
    assert_problem(await web.post(f"{ROOT}/cleanings/12"))
    assert_problem(await web.delete(f"{ROOT}/assets/app-abc123.js"))


@pytest.mark.parametrize(
    "path",
    [
        "/assets/%2e%2e/%2e%2e/secret.txt",
        "/assets/..%2f..%2fsecret.txt",
        "/assets/%2e%2e/index.html",
        "/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
    ],
)
async def test_no_path_leads_outside_the_build(web: httpx.AsyncClient, path: str) -> None:
    response = await web.get(ROOT + path)

    assert SECRET not in response.text
    if path.startswith("/assets/"):
        assert_problem(response)
    else:
        assert_page(response)


async def test_head_answers_the_headers_alone(web: httpx.AsyncClient) -> None:
    page = await web.head(f"{ROOT}/cleanings/12")
    asset = await web.head(f"{ROOT}/assets/app-abc123.js")

    assert_page(page)
    assert page.content == b""
    assert page.headers["content-length"] == str(len(INDEX))
    assert asset.status_code == 200
    assert asset.content == b""
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert asset.headers["content-length"] == str(len(SCRIPT))


@pytest.mark.parametrize("built", [False, True])
async def test_without_a_build_the_root_leads_to_the_docs(
    database_url: str,
    connection: Connection,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    built: bool,
) -> None:
    # No directory at all, or one with no index.html (a build not run, or under way).
    web_dir = tmp_path if built else None
    settings = make_settings(database_url, web_dir=web_dir)
    with caplog.at_level(logging.INFO, logger="phresh.web"):
        async with app_on(settings, connection) as app, client_of(app) as client:
            root = await client.get(f"{ROOT}/")
            route = await client.get(f"{ROOT}/cleanings/12")

    assert root.status_code == 307
    assert root.headers["location"] == "/docs"
    assert_problem(route)
    lines = [record.getMessage() for record in caplog.records if record.name == "phresh.web"]
    assert len(lines) == 1
    assert "not built" in lines[0]
    assert "make web-build" in lines[0]
