"""The route template a request matched (``/api/v1/cleanings/{cleaning_id}``): bounded
whatever paths clients send, and free of the values in the path.

After routing, Starlette puts the matched route in the ASGI scope (``scope["route"]``). Since
FastAPI 0.137 that is the route its APIRouter holds, whose path lacks the prefixes of
``include_router``; FastAPI's public ``iter_route_contexts`` gives each route's full path.
Those are read once per app into a table kept in ``app.state`` (read again when a route it
does not know turns up: one added since), so a request costs a dictionary lookup.
"""

from typing import Any

from fastapi.routing import RouteContext, iter_route_contexts
from starlette.routing import Match
from starlette.types import Scope

# Keyed by the route's identity (routes compare by value and are not hashable), each entry
# holding the route, so that the identity stays its own; then its template, or the contexts
# of a route included under several prefixes.
Templates = dict[int, tuple[object, str | list[RouteContext] | None]]


def route_template(scope: Scope) -> str | None:
    """The template of the route that answered, or None when none matched (an unknown path,
    the web app's pages, a slash redirect)."""
    route = scope.get("route")
    if route is None:
        return None
    app = scope.get("app")
    state = getattr(app, "state", None)
    if state is None:
        return _own_path(route)
    templates: Templates | None = getattr(state, "route_templates", None)
    entry = templates.get(id(route)) if templates is not None else None
    if entry is None or entry[0] is not route:
        templates = _read_templates(app)
        entry = templates.get(id(route))
        if entry is None or entry[0] is not route:
            # Not among the app's routes (a mounted app's own): its own path, and no second
            # reading for it.
            entry = templates[id(route)] = (route, _own_path(route))
        state.route_templates = templates
    known = entry[1]
    if not isinstance(known, list):
        return known
    # One route included under several prefixes: the one whose path this is.
    for context in known:
        if context.matches(scope)[0] is not Match.NONE:
            return context.path_format
    return None


def _read_templates(app: Any) -> Templates:
    found: dict[int, list[RouteContext]] = {}
    for context in iter_route_contexts(app.routes):
        found.setdefault(id(context.original_route), []).append(context)
    templates: Templates = {}
    for key, contexts in found.items():
        paths = {context.path_format for context in contexts}
        known = contexts[0].path_format if len(paths) == 1 else contexts
        templates[key] = (contexts[0].original_route, known)
    return templates


def _own_path(route: object) -> str | None:
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None
