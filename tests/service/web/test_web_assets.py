"""The web tool is served by the API itself: the page, its modules and styles, nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from chalice.test import Client

from app import app


@pytest.fixture(scope="module")
def client() -> Any:
    with Client(app, stage_name="dev") as test_client:
        yield test_client


def test_the_root_is_the_web_tool_page_and_the_json_index_moved_to_api(client: Any) -> None:
    page = client.http.get("/")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    html = page.body.decode()
    assert '<base href="/">' in html and 'src="ui/app.js"' in html
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    index = client.http.get("/api")
    assert index.status_code == 200 and index.json_body["openapi"] == "/openapi.json"


@pytest.mark.parametrize(("name", "content_type"), [
    ("app.js", "text/javascript; charset=utf-8"),
    ("wizard.js", "text/javascript; charset=utf-8"),
    ("style.css", "text/css; charset=utf-8"),
])
def test_assets_are_served_with_their_content_type(client: Any, name: str,
                                                   content_type: str) -> None:
    response = client.http.get(f"/ui/{name}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == content_type
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert len(response.body) > 100


@pytest.mark.parametrize("path", ["/ui/nothing.js", "/ui/..%2Fapp.py", "/ui/.hidden.js",
                                  "/ui/index.py", "/ui/vendor/missing.js",
                                  "/ui/vendor/..%2F..%2Fconfig.py"])
def test_anything_else_is_a_json_404(client: Any, path: str) -> None:
    response = client.http.get(path)
    assert response.status_code == 404
    assert response.json_body["error"]["code"] == "NOT_FOUND"
