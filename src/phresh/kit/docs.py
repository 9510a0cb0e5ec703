"""/docs: Swagger UI served from the swagger-ui-bundle wheel, so it works offline.

Its files are served under a path that holds a digest of their content
(``/docs/static/<digest>/swagger-ui-bundle.js``), so a browser may keep them for a year: a
new Swagger UI has new content, hence a new path. ``/docs/oauth2-redirect`` is FastAPI's page
that completes an OAuth2 redirect flow; the "Authorize" form itself uses the password flow
against the token URL the OpenAPI document names.
"""

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.exceptions import HTTPException
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

DOCS_PATH = "/docs"
OAUTH2_REDIRECT_PATH = f"{DOCS_PATH}/oauth2-redirect"
STATIC_PATH = f"{DOCS_PATH}/static"
IMMUTABLE = "public, max-age=31536000, immutable"
# The files the page loads, and the source maps a browser's developer tools ask for.
MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui-bundle.js.map": "application/json",
    "swagger-ui.css": "text/css; charset=utf-8",
    "swagger-ui.css.map": "application/json",
    "favicon-32x32.png": "image/png",
    "favicon-16x16.png": "image/png",
}


def _bundle_dir() -> Path:
    return Path(str(swagger_ui_path))


@lru_cache(maxsize=1)
def assets_digest() -> str:
    """A digest of the served files: part of their URL, so a new version gets a new URL."""
    digest = hashlib.sha256()
    for name in sorted(MEDIA_TYPES):
        digest.update(name.encode() + b"\0" + (_bundle_dir() / name).read_bytes())
    return digest.hexdigest()[:16]


def _page(title: str, openapi_url: str) -> str:
    static = f"{STATIC_PATH}/{assets_digest()}"
    config = json.dumps(
        {
            "url": openapi_url,
            "dom_id": "#swagger-ui",
            "layout": "BaseLayout",
            "deepLinking": True,
            "persistAuthorization": True,
        }
    ).replace("</", "<\\/")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{static}/swagger-ui.css">
<link rel="icon" type="image/png" href="{static}/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="{static}/favicon-16x16.png" sizes="16x16">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{static}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle(Object.assign({config}, {{
  oauth2RedirectUrl: window.location.origin + "{OAUTH2_REDIRECT_PATH}",
  presets: [SwaggerUIBundle.presets.apis],
}}));
</script>
</body>
</html>
"""


def install_docs(app: FastAPI, *, title: str, openapi_url: str) -> None:
    """Serve Swagger UI at /docs with its files from the installed wheel (no CDN)."""
    page = _page(title, openapi_url)

    async def swagger_ui(request: Request) -> HTMLResponse:
        return HTMLResponse(page, headers={"Cache-Control": "no-cache"})

    async def oauth2_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if request.path_params["digest"] != assets_digest() or name not in MEDIA_TYPES:
            raise HTTPException(status_code=404)
        return FileResponse(
            _bundle_dir() / name,
            media_type=MEDIA_TYPES[name],
            headers={"Cache-Control": IMMUTABLE},
        )

    app.add_route(DOCS_PATH, swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_route(OAUTH2_REDIRECT_PATH, oauth2_redirect, methods=["GET"], include_in_schema=False)
    app.add_route(
        f"{STATIC_PATH}/{{digest}}/{{name}}", asset, methods=["GET"], include_in_schema=False
    )
