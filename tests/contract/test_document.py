"""/openapi.json is a valid OpenAPI 3.1 document generated from the code: one operation per
route of the app (or a stated exclusion), a schema for every answer, one Error schema for every
4xx, and examples the API accepts. The fuzz run against the local stack is test_fuzz.py."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from chalice.test import Client
from openapi_spec_validator import validate

from app import app
from chalicelib.api import openapi, responses
from chalicelib.domain.inputs import parse_body
from chalicelib.lp import schemas as lp_schemas


@pytest.fixture(scope="module")
def client() -> Any:
    with Client(app, stage_name="dev") as test_client:
        yield test_client


@pytest.fixture(scope="module")
def doc(client: Any) -> dict[str, Any]:
    response = client.http.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json_body)


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, item in doc["paths"].items()
            for method, op in item.items()]


def test_the_document_is_valid_openapi_3_1(doc: dict[str, Any]) -> None:
    assert doc["openapi"].startswith("3.1.")
    validate(doc)


def test_every_route_of_the_app_is_documented_and_nothing_else(doc: dict[str, Any]) -> None:
    routes = {(method, path) for path, methods in app.routes.items() for method in methods}
    documented = {(method, path) for method, path, _ in operations(doc)}
    assert routes - documented - set(openapi.EXCLUDED) == set(), "routes missing from the document"
    assert documented - routes == set(), "the document names routes the app does not have"
    assert set(openapi.EXCLUDED) <= routes, "an exclusion names a route that does not exist"


def test_every_answer_has_a_schema_and_every_error_is_the_error_schema(
        doc: dict[str, Any]) -> None:
    for method, path, op in operations(doc):
        answers = op["responses"]
        assert not [s for s in answers if s.startswith("5")], (method, path)
        # The LivePerson-compatible paths answer errors in LivePerson's shape (LpError), except
        # chalice's own 415, made before any route runs.
        lp = openapi.LP_TAG in op.get("tags", [])
        for status, answer in answers.items():
            content = answer.get("content", {})
            assert "application/json" in content, (method, path, status)
            schema = content["application/json"]["schema"]
            if status.startswith("4"):
                error = "LpError" if lp and status != "415" else "Error"
                assert schema == {"$ref": f"#/components/schemas/{error}"}, (method, path,
                                                                             status)
            else:
                assert schema["$ref"].removeprefix("#/components/schemas/") in \
                    doc["components"]["schemas"]
        if lp:
            assert op["security"] in ([], [{"appJwt": []}]), (method, path)
            assert {"400", "401", "415", "429"} <= set(answers), (method, path)
            assert "Retry-After" in answers["429"]["headers"]
        elif op["security"]:
            assert {"400", "401", "403", "413", "415", "429"} <= set(answers), (method, path)
            assert "Retry-After" in answers["429"]["headers"]


def test_the_error_schema_is_what_errors_py_answers(client: Any, doc: dict[str, Any]) -> None:
    error = doc["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"error"}
    body = client.http.post("/campaigns", headers={"Content-Type": "application/json"},
                            body=b"{").json_body
    responses.Error.model_validate(body)


@pytest.mark.parametrize(("method", "path", "content_type", "status"), [
    ("POST", "/campaigns", "text/plain", 415),   # chalice's own 415
    ("PUT", "/campaigns", "application/json", 405),  # chalice's own 405
])
def test_answers_chalice_makes_itself_have_the_error_schema(
        client: Any, method: str, path: str, content_type: str, status: int) -> None:
    response = getattr(client.http, method.lower())(
        path, headers={"Content-Type": content_type}, body=b"{}")
    assert response.status_code == status
    assert response.headers["Content-Type"] == "application/json"
    error = responses.Error.model_validate(response.json_body).error
    assert error.code in ("UNSUPPORTED_MEDIA_TYPE", "METHOD_NOT_ALLOWED")
    if status == 405:
        assert "GET" in response.headers["Allow"]


def test_the_request_examples_are_valid_for_the_api_and_the_document(
        doc: dict[str, Any]) -> None:
    """The examples of the main flows are accepted by the validators the routes use, and by the
    document's own schemas (the two agree on them)."""
    checked = 0
    for (method, path), op in openapi.OPERATIONS.items():
        content = doc["paths"][path][method.lower()].get("requestBody", {}).get("content", {})
        for media in content.values():  # each media type's examples, by its schema
            schema = {**media["schema"], "components": doc["components"]}
            for example in media.get("examples", {}).values():
                jsonschema.Draft202012Validator(schema).validate(example["value"])
        for example in op.examples.values():
            if op.body is not None and method != "PATCH":
                parse_body(op.body, json.dumps(example))
            if op.lp and method == "POST" and "/campaign" in path:
                lp_schemas.parse_create(example)
            checked += 1
        for example in op.json_examples.values():
            assert op.json_body is not None
            parse_body(op.json_body, json.dumps(example))
            checked += 1
    assert checked >= 6


def test_docs_is_swagger_ui_from_this_origin_on_the_document(client: Any) -> None:
    page = client.http.get("/docs")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    html = page.body.decode()
    assert '<base href="/">' in html and 'src="ui/vendor/swagger-ui-bundle.js"' in html
    assert "script-src 'self';" in page.headers["Content-Security-Policy"]
    script = client.http.get("/ui/docs.js")
    assert script.status_code == 200 and b"openapi.json" in script.body
