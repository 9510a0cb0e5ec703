"""The OpenAPI document is an interface: valid, true to what the server sends, and stable."""

import ast
import inspect
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from types import FunctionType, ModuleType
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from openapi_spec_validator import OpenAPIV31SpecValidator

from phresh.config import Settings
from phresh.db import Connection
from phresh.errors import PROBLEM_JSON, AppError, problem_type
from phresh.kit.query import dependants
from phresh.main import create_app
from phresh.models import CleaningStatus, OfferStatus
from tests.fixtures.database import make_settings
from tests.fixtures.factories import auth_headers, create_cleaning, create_offer, create_user

OPERATION_ID = re.compile(r"^[a-z][a-zA-Z0-9]*$")
METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}
# Added by build_openapi from what the route depends on, not raised by its code.
SHARED_PROBLEMS = {
    problem_type(slug) for slug in ("validation", "bad-request", "body-too-large", "unavailable")
}


@pytest.fixture(scope="module")
def offline_app() -> FastAPI:
    # The document never needs the database: no lifespan, a URL nothing listens on.
    return create_app(make_settings("postgresql://phresh@127.0.0.1:1/none"))


@pytest.fixture(scope="module")
def document(offline_app: FastAPI) -> dict[str, Any]:
    return offline_app.openapi()


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def declared_problem_types(response: dict[str, Any]) -> list[str]:
    schema = response["content"][PROBLEM_JSON]["schema"]
    types: list[str] = schema["properties"]["type"]["enum"]
    return types


def test_the_document_is_valid_openapi_31(document: dict[str, Any]) -> None:
    # FastAPI's own 3.1 document, schemas in JSON Schema 2020-12: what /docs renders.
    assert document["openapi"].startswith("3.1.")
    OpenAPIV31SpecValidator(document).validate()


def test_the_served_document_is_the_validated_one(client_document: dict[str, Any]) -> None:
    assert client_document["openapi"].startswith("3.1.")
    OpenAPIV31SpecValidator(client_document).validate()


@pytest.fixture
async def client_document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_the_list_filters_refer_to_nothing_undefined(document: dict[str, Any]) -> None:
    parameters = {
        parameter["name"]: parameter
        for parameter in document["paths"]["/api/v1/cleanings"]["get"]["parameters"]
    }

    assert parameters["sort"]["schema"]["enum"] == ["newest", "price", "relevance"]
    assert "$ref" not in str(parameters)


def test_operation_ids_are_short_unique_camel_case(document: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(document)]

    assert len(ids) == len(set(ids))
    for operation_id in ids:
        assert OPERATION_ID.match(operation_id), operation_id
        assert len(operation_id) <= 24, operation_id
    assert {"acceptOffer", "listCleanings", "readLiveness", "issueToken", "logOut"} <= set(ids)


def test_every_error_response_is_problem_json_with_its_types(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            assert set(response["content"]) == {PROBLEM_JSON}, (method, path, status)
            schema = response["content"][PROBLEM_JSON]["schema"]
            assert schema["allOf"] == [{"$ref": "#/components/schemas/Problem"}]
            types = declared_problem_types(response)
            examples = response["content"][PROBLEM_JSON]["examples"]
            assert types
            assert [example["value"]["type"] for example in examples.values()] == types
            assert all(example["value"]["status"] == int(status) for example in examples.values())
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert "Problem" in document["components"]["schemas"]


def test_accept_lists_every_conflict_it_can_answer(document: dict[str, Any]) -> None:
    accept = document["paths"]["/api/v1/cleanings/{cleaning_id}/offers/{username}/accept"]["post"]

    conflicts = declared_problem_types(accept["responses"]["409"])

    assert set(conflicts) == {
        problem_type("offer-wrong-status"),
        problem_type("cleaning-not-open"),
    }
    assert problem_type("offer-not-found") in declared_problem_types(accept["responses"]["404"])


def test_shared_errors_are_documented_where_they_apply(document: dict[str, Any]) -> None:
    for path, _, operation in operations(document):
        responses = operation["responses"]
        # Every operation refuses an unknown query parameter.
        assert problem_type("validation") in declared_problem_types(responses["422"])
        if "requestBody" in operation:
            assert problem_type("bad-request") in declared_problem_types(responses["400"])
            assert problem_type("body-too-large") in declared_problem_types(responses["413"])
        if "/health/" not in path:
            assert problem_type("unavailable") in declared_problem_types(responses["503"])
    live = document["paths"]["/api/v1/health/live"]["get"]["responses"]
    assert "503" not in live


def test_headers_are_documented(document: dict[str, Any]) -> None:
    headers = document["components"]["headers"]
    assert headers["X-Request-ID"]["required"] is True
    for _, _, operation in operations(document):
        for status, response in operation["responses"].items():
            refs = {name: ref["$ref"] for name, ref in response["headers"].items()}
            assert refs["X-Request-ID"] == "#/components/headers/X-Request-ID"
            if status in {"429", "503"}:
                assert "Retry-After" in refs
            if status == "401":
                assert "WWW-Authenticate" in refs


# --- what the code can raise, read from its source ----------------------------------------


def _app_modules() -> list[ModuleType]:
    """The phresh modules phresh.main reaches through the names they import."""
    seen: dict[str, ModuleType] = {}
    pending = [sys.modules["phresh.main"]]
    while pending:
        module = pending.pop()
        if module.__name__ in seen:
            continue
        seen[module.__name__] = module
        for value in vars(module).values():
            name = (
                value.__name__
                if isinstance(value, ModuleType)
                else getattr(value, "__module__", None)
            )
            if isinstance(name, str) and name.startswith("phresh") and name not in seen:
                pending.append(sys.modules[name])
    return list(seen.values())


def _phresh_classes() -> list[type]:
    """The classes of the app's modules (not of whatever else a test run imported)."""
    return [
        value
        for module in _app_modules()
        for value in vars(module).values()
        if isinstance(value, type) and value.__module__ == module.__name__
    ]


def _methods_by_name() -> dict[str, list[FunctionType]]:
    methods: dict[str, list[FunctionType]] = {}
    for cls in _phresh_classes():
        for name, value in vars(cls).items():
            function = getattr(value, "__func__", value)
            if isinstance(function, FunctionType):
                methods.setdefault(name, []).append(function)
    return methods


def _is_phresh(value: object) -> bool:
    return str(getattr(value, "__module__", "")).startswith("phresh")


class RaiseFinder:
    """The AppErrors a function can raise: those it builds, and those of the phresh
    functions it calls (resolved through its module's names, or by method name)."""

    def __init__(self) -> None:
        self.methods = _methods_by_name()
        self.cache: dict[Callable[..., Any], set[type[AppError]]] = {}

    def _resolve(self, node: ast.expr, scope: dict[str, Any]) -> list[object]:
        if isinstance(node, ast.Name):
            return [scope[node.id]] if node.id in scope else []
        if isinstance(node, ast.Attribute):
            owners = self._resolve(node.value, scope)
            if owners and isinstance(owners[0], ModuleType | type):
                found = getattr(owners[0], node.attr, None)
                return [found] if found is not None else []
            # A method of an object (codec.decode_cursor, reader.claims): every phresh method
            # of that name.
            return list(self.methods.get(node.attr, []))
        return []

    def raises(self, function: Callable[..., Any]) -> set[type[AppError]]:
        # A classmethod looked up on its class is a bound method: analyse its function.
        function = inspect.unwrap(getattr(function, "__func__", function))
        if function in self.cache:
            return self.cache[function]
        found: set[type[AppError]] = set()
        self.cache[function] = found
        if not isinstance(function, FunctionType) or not _is_phresh(function):
            return found
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for target in self._resolve(node.func, function.__globals__):
                if isinstance(target, type) and issubclass(target, AppError):
                    found.add(target)
                elif isinstance(target, FunctionType):
                    found |= self.raises(target)
        return found


def test_every_error_the_code_can_raise_is_documented_and_nothing_else(
    offline_app: FastAPI, document: dict[str, Any]
) -> None:
    finder = RaiseFinder()
    mismatches = []
    for context in iter_route_contexts(offline_app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        raised: set[str] = set()
        for sub in dependants(route.dependant):
            if sub.call is not None:
                raised |= {problem_type(error.slug) for error in finder.raises(sub.call)}
        for method in route.methods or ():
            operation = document["paths"][context.path_format][method.lower()]
            declared = {
                problem
                for status, response in operation["responses"].items()
                if int(status) >= 400
                for problem in declared_problem_types(response)
            }
            # A shared problem (503 of a database route) may be raised too: documented anyway.
            if raised - declared or declared - SHARED_PROBLEMS - raised:
                mismatches.append(
                    (
                        operation["operationId"],
                        sorted(raised - declared),
                        sorted(declared - SHARED_PROBLEMS - raised),
                    )
                )
    # (operation, raised but undeclared, declared but never raised)
    assert mismatches == [], "\n".join(map(str, mismatches))


def test_the_document_is_built_once(offline_app: FastAPI) -> None:
    assert offline_app.openapi() is offline_app.openapi()


# --- the schemas say what the server accepts ------------------------------------------------


def schema_of(document: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][name]
    return schema


def test_the_username_pattern_is_documented(document: dict[str, Any]) -> None:
    username = schema_of(document, "UserCreate")["properties"]["username"]

    assert username["pattern"] == "^[A-Za-z0-9_-]{3,32}$"


def admits_null(schema: dict[str, Any]) -> bool:
    """Whether a JSON Schema 2020-12 schema lets null through: a null type, or a branch that
    does."""
    kinds = schema.get("type", [])
    if "null" in (kinds if isinstance(kinds, list) else [kinds]):
        return True
    branches = [*schema.get("anyOf", []), *schema.get("oneOf", [])]
    return any(admits_null(branch) for branch in branches)


def test_partial_update_fields_are_optional_but_not_nullable(document: dict[str, Any]) -> None:
    update = schema_of(document, "CleaningUpdate")

    assert "required" not in update
    for name, field in update["properties"].items():
        assert not admits_null(field), name
        assert "default" not in field, name


def test_prices_are_documented_as_the_server_reads_and_writes_them(
    document: dict[str, Any],
) -> None:
    price_in = schema_of(document, "CleaningCreate")["properties"]["price"]
    price_out = schema_of(document, "CleaningRead")["properties"]["price"]

    as_string, as_number = price_in["anyOf"]
    assert as_string["type"] == "string"
    assert as_string["pattern"]
    assert as_number == {
        "type": "number",
        "minimum": 0.01,
        "maximum": 99999999.99,
        "multipleOf": 0.01,
    }
    assert price_out["type"] == "string"
    assert price_out["pattern"] == r"^[0-9]{1,8}\.[0-9]{2}$"


def test_every_text_field_of_a_request_documents_its_characters(document: dict[str, Any]) -> None:
    for name, schema in document["components"]["schemas"].items():
        if not name.endswith(("Create", "Update")):
            continue
        for field, value in schema["properties"].items():
            branches = value.get("anyOf", [value])
            for branch in branches:
                if branch.get("type") == "string" and branch.get("format") != "password":
                    assert "pattern" in branch, (name, field)


async def price_answer(
    client: httpx.AsyncClient, headers: dict[str, str], price: object
) -> tuple[int, object]:
    response = await client.post(
        "/cleanings", json={"name": "Spring", "price": price}, headers=headers
    )
    return response.status_code, response.json().get("price")


async def test_the_server_takes_exactly_the_documented_prices(
    client: httpx.AsyncClient, connection: Connection, settings: Settings
) -> None:
    headers = auth_headers(settings, await create_user(connection))

    assert await price_answer(client, headers, "25.5") == (201, "25.50")
    assert await price_answer(client, headers, 25.5) == (201, "25.50")
    assert await price_answer(client, headers, "0.01") == (201, "0.01")
    assert await price_answer(client, headers, 99999999.99) == (201, "99999999.99")
    for refused in ["1e1", "+5", " 25", "25.", ".5", "025", "0", "0.001", True, 0.001]:
        status, _ = await price_answer(client, headers, refused)
        assert status == 422, refused


async def test_ratings_take_whole_numbers_as_the_schema_says(
    client: httpx.AsyncClient, connection: Connection, settings: Settings, document: dict[str, Any]
) -> None:
    rating = schema_of(document, "EvaluationCreate")["properties"]["overall_rating"]
    assert rating["type"] == "integer"
    owner = await create_user(connection)
    cleaner = await create_user(connection)
    cleaning = await create_cleaning(connection, owner=owner, status=CleaningStatus.assigned)
    await create_offer(connection, cleaning=cleaning, cleaner=cleaner, status=OfferStatus.accepted)
    headers = auth_headers(settings, owner)
    url = f"/cleanings/{cleaning.id}/evaluation"

    for refused in [4.5, "4", True, 6]:
        response = await client.post(url, json={"overall_rating": refused}, headers=headers)
        assert response.status_code == 422, refused
    accepted = await client.post(url, json={"overall_rating": 4.0}, headers=headers)

    assert accepted.status_code == 201
    assert accepted.json()["overall_rating"] == 4


# --- /docs works offline --------------------------------------------------------------------

SAME_ORIGIN = re.compile(r"^/(?!/)")


async def test_the_docs_page_loads_nothing_from_another_origin(client: httpx.AsyncClient) -> None:
    page = await client.get("http://test/docs")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    urls = re.findall(r'(?:src|href)="([^"]*)"', page.text)
    assert urls
    assert all(SAME_ORIGIN.match(url) for url in urls), urls
    assert "//" not in page.text.replace("http://test", "")
    assert '"url": "/api/v1/openapi.json"' in page.text
    assert "/docs/oauth2-redirect" in page.text


async def test_the_docs_assets_are_served_with_a_long_cache(client: httpx.AsyncClient) -> None:
    page = await client.get("http://test/docs")
    expected = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}

    for url in re.findall(r'(?:src|href)="([^"]*)"', page.text):
        asset = await client.get(f"http://test{url}")
        assert asset.status_code == 200, url
        media_type = asset.headers["content-type"].split(";")[0]
        assert media_type == expected[url[url.rindex(".") :]], url
        assert "immutable" in asset.headers["cache-control"]
        assert asset.content


SWAGGER_UI_VERSION = re.compile(rb'PACKAGE_VERSION:"([0-9]+)\.[0-9]+\.[0-9]+"')


async def test_the_docs_serve_a_swagger_ui_that_renders_openapi_31(
    client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    page = await client.get("http://test/docs")
    script = re.findall(r'src="([^"]*)"', page.text)[0]
    bundle = await client.get(f"http://test{script}")
    version = SWAGGER_UI_VERSION.search(bundle.content)

    assert version is not None
    # Swagger UI renders OpenAPI 3.1 from 5.0 on; 4.x refuses the document.
    assert document["openapi"].startswith("3.1.")
    assert int(version[1]) >= 5, version[0]


async def test_an_asset_of_another_version_or_outside_the_list_is_not_served(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("http://test/docs")
    script = re.findall(r'src="([^"]*)"', page.text)[0]
    static = script.rsplit("/", 2)[0]

    other_version = await client.get(f"http://test{static}/0000000000000000/swagger-ui-bundle.js")
    # A file of the package that holds Swagger UI's, but none the page loads.
    module = await client.get(f"http://test{script.rsplit('/', 1)[0]}/__init__.py")

    assert (other_version.status_code, module.status_code) == (404, 404)


async def test_the_oauth2_redirect_page_and_password_flow_are_there(
    client: httpx.AsyncClient, document: dict[str, Any]
) -> None:
    redirect = await client.get("http://test/docs/oauth2-redirect")

    assert redirect.status_code == 200
    assert "oauth2" in redirect.text.lower()
    flows = document["components"]["securitySchemes"]["OAuth2PasswordBearer"]["flows"]
    assert flows["password"]["tokenUrl"] == "/api/v1/auth/token"
