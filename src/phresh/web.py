"""The web app, as Vite builds it (PHRESH_WEB_DIR: index.html, assets/, a few root files),
served at / beside the API.

It answers what no route matches (the router's ``default``, which FastAPI documents as the
404 handler), so every API route, its 405s and the docs come first. GET and HEAD only, and
never under /api/ or /docs/, which keep their JSON 404. Then:

- /assets/<file>: the content-hashed build output, cached for a year (a new build has new
  names); a missing one is a 404, never index.html.
- /<file>, a file at the top of the build (favicon.svg, robots.txt): revalidated each time.
- any other path: index.html, whose script routes it (/cleanings/12, /verify-email?token=...).

Files are looked up among those listed when the app is created, never by joining a path, so
no request path can reach outside the build; index.html is read then too. A new build needs
a restart. Pages allow nothing from another origin, and send no Referer: the links of
Phresh's mails carry their token in the query string.
"""

import logging
from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from phresh.kit.docs import DOCS_PATH

logger = logging.getLogger(__name__)

# Paths that belong to the API and its docs: an unknown one there is a 404 problem.
RESERVED = ("/api", DOCS_PATH)
ASSETS = "/assets/"
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
# nosniff and no-referrer come with every response (kit/headers.py).
PAGE_HEADERS = {"Cache-Control": "no-cache", "Content-Security-Policy": CONTENT_SECURITY_POLICY}
ASSET_HEADERS = {"Cache-Control": "public, max-age=31536000, immutable"}
HTML = "text/html; charset=utf-8"


def is_reserved(path: str) -> bool:
    return any(path == root or path.startswith(root + "/") for root in RESERVED)


class WebApp:
    """The ASGI app that serves the build in ``directory``; ``fallback`` answers the rest."""

    def __init__(self, directory: Path, fallback: ASGIApp) -> None:
        self.fallback = fallback
        self.index = (directory / "index.html").read_bytes()
        assets = directory / "assets"
        listed = assets.rglob("*") if assets.is_dir() else iter(())
        self.assets = {
            path.relative_to(assets).as_posix(): path for path in listed if path.is_file()
        }
        self.files = {
            path.name: path
            for path in directory.iterdir()
            if path.is_file() and path.name != "index.html"
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if scope["type"] != "http" or scope["method"] not in {"GET", "HEAD"} or is_reserved(path):
            await self.fallback(scope, receive, send)
            return
        response: Response
        if path.startswith(ASSETS):
            asset = self.assets.get(path.removeprefix(ASSETS))
            # A file listed at start may be gone since (a rebuild under a running server).
            if asset is None or not asset.is_file():
                raise HTTPException(status_code=404, detail=f"The web app has no file {path}.")
            response = FileResponse(asset, headers=ASSET_HEADERS)
        elif path[1:] in self.files:
            response = FileResponse(self.files[path[1:]], headers=PAGE_HEADERS)
        else:
            response = Response(self.index, media_type=HTML, headers=PAGE_HEADERS)
        await response(scope, receive, send)


def install_web_app(app: FastAPI, directory: Path | None) -> bool:
    """Serve the web app built in ``directory`` at /; False (and a line logged) when there
    is none there."""
    if directory is None or not (directory / "index.html").is_file():
        where = "" if directory is None else f" in {directory}"
        logger.info(
            "The web app is not built%s: / leads to the API docs. Build it with "
            "`make web-build` (or set PHRESH_WEB_DIR to a build).",
            where,
        )
        return False
    app.router.default = WebApp(directory, fallback=app.router.default)
    return True
