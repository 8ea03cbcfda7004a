"""The service's own routes: index, health, the OpenAPI document and its page, the web tool's
static files (chalicelib/web, served from the same API)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chalice import Response  # type: ignore[attr-defined]

from chalicelib import config
from chalicelib.api import openapi, static
from chalicelib.api.routing import Routes

routes = Routes(__name__)


def _static(text: str, headers: Mapping[str, str]) -> Response:
    fields: dict[str, str | list[str]] = dict(headers)
    return Response(body=text, headers=fields)


@routes.route("/api")
def index() -> dict[str, Any]:
    return {"service": "proactive messaging", "openapi": "/openapi.json", "docs": "/docs",
            "health": "/health", "web_tool": "/"}


@routes.route("/health")
def health() -> dict[str, Any]:
    return {"ok": True, "stage": config.get_settings().stage}


@routes.route("/openapi.json")
def openapi_document() -> dict[str, Any]:
    # the paths of the routes the app has: the same route table that answers requests
    return openapi.document(routes.current_app.routes)


@routes.route("/docs")
def api_docs() -> Response:
    text, headers = static.docs_page(routes.request().context.get("path") or "/docs")
    return _static(text, headers)


@routes.route("/")
def web_page() -> Response:
    text, headers = static.page(routes.request().context.get("path") or "/")
    return _static(text, headers)


@routes.route("/ui/{name}")
def web_asset(name: str) -> Response:
    text, headers = static.asset(name)
    return _static(text, headers)


@routes.route("/ui/vendor/{name}")
def web_vendor_asset(name: str) -> Response:
    text, headers = static.asset(name, folder="vendor")
    return _static(text, headers)
