"""The web tool's static files (chalicelib/web/), served by the API so they deploy with it.

Only plain names inside that folder (and its vendor/ folder, filled by `make web`) are served;
anything else is a 404, so no path can reach outside it.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from chalicelib.domain.errors import NotFound

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"
_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,100}$")
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
    ".map": "application/json",
    ".txt": "text/plain; charset=utf-8",
}
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
PAGE_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Type": CONTENT_TYPES[".html"],
    "Cache-Control": "no-cache",
    "X-Frame-Options": "DENY",
    # Scripts only from this origin; the API calls and the pre-signed upload may go elsewhere.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; object-src 'none'; "
                               "base-uri 'self'; frame-ancestors 'none'; img-src 'self' data:; "
                               "connect-src *",
}


def asset(name: str, folder: str = "") -> tuple[str, dict[str, str]]:
    """(text, headers) of one static file of the web tool, or NotFound."""
    if not _NAME.match(name) or folder not in ("", "vendor"):
        raise NotFound(f"no such file of the web tool: {name}")
    path = WEB_ROOT / folder / name
    content_type = CONTENT_TYPES.get(path.suffix)
    if content_type is None or not path.is_file():
        hint = " (run `make web` to build the vendored libraries)" if folder else ""
        raise NotFound(f"no such file of the web tool: {name}{hint}")
    headers = {**SECURITY_HEADERS, "Content-Type": content_type, "Cache-Control": "no-cache"}
    return path.read_text(encoding="utf-8"), headers


def page(request_path: str) -> tuple[str, dict[str, str]]:
    """The single page of the tool, with <base> set to where the API is mounted (the API Gateway
    stage, e.g. /api/), so assets and API calls work under any stage or custom domain path."""
    base = request_path if request_path.endswith("/") else request_path + "/"
    text = (WEB_ROOT / "index.html").read_text(encoding="utf-8")
    return text.replace("{{BASE}}", html.escape(base, quote=True)), dict(PAGE_HEADERS)


# The API reference (Swagger UI, vendored by `make web`): its styles are injected at run time,
# so this one page also allows inline styles; scripts still come only from this origin.
DOCS_HEADERS = {**PAGE_HEADERS, "Content-Security-Policy": PAGE_HEADERS[
    "Content-Security-Policy"].replace("script-src 'self';",
                                       "script-src 'self'; style-src 'self' 'unsafe-inline';")}


def docs_page(request_path: str) -> tuple[str, dict[str, str]]:
    """/docs, with <base> at the API's root (the request path less `docs`), so the page finds
    ui/vendor/ and openapi.json under any stage."""
    base = request_path.removesuffix("/").removesuffix("docs") or "/"
    text = (WEB_ROOT / "docs.html").read_text(encoding="utf-8")
    return text.replace("{{BASE}}", html.escape(base, quote=True)), dict(DOCS_HEADERS)
