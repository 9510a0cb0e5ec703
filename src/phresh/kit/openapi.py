"""The OpenAPI document: FastAPI's, completed with what every endpoint shares.

Routers list the domain errors of their endpoints (``responses=error_responses(...)``); this
module adds what follows from the app itself, read off each route:

- 422 ``validation`` on every operation (any operation refuses an unknown query parameter);
- 400 ``bad-request`` on every operation with a request body (a body that cannot be read),
  and 413 ``body-too-large`` (a body over ``PHRESH_MAX_BODY_BYTES``);
- 503 ``unavailable`` on every operation that uses the database (``Retry-After``);
- the ``X-Request-ID`` header on every response, ``WWW-Authenticate`` on 401 and
  ``Retry-After`` on 429 and 503;
- the ``Problem`` schema, which every error response refers to;
- operationIds from the handlers' names, in camelCase (``accept_offer`` -> ``acceptOffer``).

The document stays the OpenAPI 3.1 FastAPI writes (schemas in JSON Schema 2020-12), which the
Swagger UI served at /docs renders.
"""

import copy
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from phresh.errors import (
    AppError,
    BadRequest,
    BodyTooLarge,
    InvalidInput,
    Problem,
    ServiceUnavailable,
    document_problem,
)
from phresh.kit.query import dependants
from phresh.kit.schemas import SINGLE_LINE_PATTERN, without_null

REF_PREFIX = "#/components/schemas/"
HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": (
            "This request's id: the client's own X-Request-ID when it is a plain token "
            "(1-64 of A-Z, a-z, 0-9, '-', '_', '.'), a new one otherwise. Quote it when "
            "reporting a problem; errors carry it as `request_id` too."
        ),
        "required": True,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "WWW-Authenticate": {
        "description": "How to authenticate: `Bearer` (an access token from /api/v1/auth/token).",
        "required": True,
        "schema": {"type": "string"},
    },
}
# Which headers a response of each status carries, beside X-Request-ID.
STATUS_HEADERS = {"401": ["WWW-Authenticate"], "429": ["Retry-After"], "503": ["Retry-After"]}


def operation_id(route: APIRoute) -> str:
    """The handler's name in camelCase: ``accept_offer`` -> ``acceptOffer``."""
    first, *rest = route.name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def uses(route: APIRoute, dependency: Callable[..., Any]) -> bool:
    """Whether ``route`` depends on ``dependency``, directly or through another dependency."""
    return any(sub.call is dependency for sub in dependants(route.dependant))


def shared_errors(route: APIRoute, *, database: Callable[..., Any]) -> list[type[AppError]]:
    """The errors ``route`` can answer whatever its router says: see the module docstring."""
    errors: list[type[AppError]] = [InvalidInput]
    if route.body_field is not None:
        errors.extend((BadRequest, BodyTooLarge))
    if uses(route, database):
        errors.append(ServiceUnavailable)
    return errors


def _is_fastapi_validation_error(response: dict[str, Any]) -> bool:
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    return bool(schema.get("$ref") == REF_PREFIX + "HTTPValidationError")


def _complete_operation(operation: dict[str, Any], errors: list[type[AppError]]) -> None:
    responses: dict[str, Any] = operation["responses"]
    if _is_fastapi_validation_error(responses.get("422", {})):
        # FastAPI's own 422 (HTTPValidationError, application/json) is not what is sent.
        del responses["422"]
    for error in errors:
        document_problem(responses.setdefault(str(error.status_code), {}), error)
    for status, response in responses.items():
        names = ["X-Request-ID", *STATUS_HEADERS.get(status, [])]
        headers = response.setdefault("headers", {})
        for name in names:
            headers[name] = {"$ref": f"#/components/headers/{name}"}


def _complete_parameters(operation: dict[str, Any]) -> None:
    for parameter in operation.get("parameters", []):
        # A query string cannot carry null.
        schema = parameter["schema"] = without_null(parameter["schema"])
        # ParameterGuard refuses control characters in every query and path parameter.
        if schema.get("type") == "string" and not {"pattern", "enum", "format"} & schema.keys():
            schema["pattern"] = SINGLE_LINE_PATTERN


def build_openapi(app: FastAPI, *, database: Callable[..., Any]) -> dict[str, Any]:
    """The app's OpenAPI document; ``database`` is the dependency that hands out a connection."""
    document = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
        servers=app.servers,
        separate_input_output_schemas=app.separate_input_output_schemas,
    )
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        path = document["paths"][context.path_format]
        for method in route.methods or ():
            operation = path[method.lower()]
            _complete_operation(operation, shared_errors(route, database=database))
            _complete_parameters(operation)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    problem = Problem.model_json_schema(ref_template=REF_PREFIX + "{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    components["headers"] = copy.deepcopy(HEADERS)
    return document
