"""/docs: Swagger UI served from the fastapi-swagger wheel, so it works offline.

The wheel carries Swagger UI 5.34.0 (``PACKAGE_VERSION`` in its swagger-ui-bundle.js), which
renders the OpenAPI 3.1 document FastAPI writes. Its files are read through
``importlib.resources`` and served under a path that holds a digest of their content
(``/docs/static/<digest>/swagger-ui-bundle.js``), so a browser may keep them for a year: a
new Swagger UI has new content, hence a new path. ``/docs/oauth2-redirect`` is FastAPI's page
that completes an OAuth2 redirect flow; the "Authorize" form itself uses the password flow
against the token URL the OpenAPI document names.
"""

import hashlib
import json
from functools import lru_cache
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException

DOCS_PATH = "/docs"
OAUTH2_REDIRECT_PATH = f"{DOCS_PATH}/oauth2-redirect"
STATIC_PATH = f"{DOCS_PATH}/static"
IMMUTABLE = "public, max-age=31536000, immutable"
# Where fastapi-swagger keeps Swagger UI's files, and the ones the page loads: nothing else
# of that package (its Python files) is served.
RESOURCES = "fastapi_swagger.resources"
MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}


@lru_cache(maxsize=1)
def assets() -> dict[str, bytes]:
    """The served files, read once."""
    package = files(RESOURCES)
    return {name: package.joinpath(name).read_bytes() for name in MEDIA_TYPES}


@lru_cache(maxsize=1)
def assets_digest() -> str:
    """A digest of the served files: part of their URL, so a new version gets a new URL."""
    digest = hashlib.sha256()
    for name, content in sorted(assets().items()):
        digest.update(name.encode() + b"\0" + content)
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
        return Response(
            assets()[name], media_type=MEDIA_TYPES[name], headers={"Cache-Control": IMMUTABLE}
        )

    app.add_route(DOCS_PATH, swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_route(OAUTH2_REDIRECT_PATH, oauth2_redirect, methods=["GET"], include_in_schema=False)
    app.add_route(
        f"{STATIC_PATH}/{{digest}}/{{name}}", asset, methods=["GET"], include_in_schema=False
    )
