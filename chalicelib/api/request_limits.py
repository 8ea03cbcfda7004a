"""Request size limits: a clear 413 before anything reads a body that is too large.

API Gateway accepts up to 10 MB and Lambda 6 MB; JSON bodies of this API are far smaller, so
1 MB is the limit unless a route sets its own (the typed recipient list also limits its lines).
"""

from __future__ import annotations

from typing import Any

from chalicelib.domain.errors import PayloadTooLarge

MAX_BODY_BYTES = 1024 * 1024


def check_body_size(request: Any, limit: int = MAX_BODY_BYTES) -> None:
    if request is None:
        return
    headers = request.headers or {}
    declared = headers.get("content-length")
    size = None
    if declared and declared.strip().isdigit():
        size = int(declared)
    if size is None or size <= limit:
        body = request.raw_body
        size = len(body) if body else 0
    if size > limit:
        raise PayloadTooLarge(
            f"the request body is {size} bytes; this route accepts at most {limit} bytes "
            f"({limit // 1024} KB)", code="BODY_TOO_LARGE")
