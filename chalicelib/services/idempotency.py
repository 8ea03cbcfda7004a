"""Idempotent writes: the `Idempotency-Key` header of POST /campaigns, POST
/campaigns/{id}/recipients, .../launch, .../cancel and POST /templates.

- The first request with a key runs; its answer (status and body) is kept 24 h for the brand.
- A retry with the same key and the same request (method, path, Content-Type, body) gets that
  answer again, with `Idempotent-Replayed: true`; it does not run again.
- The same key with another request: 422 IDEMPOTENCY_KEY_REUSED, naming the header.
- A retry while the first request is still running waits briefly, then gets 409
  IDEMPOTENCY_KEY_IN_USE: the write never runs twice at once.
- Answers that describe a passing state are not kept (409: the campaign was busy or not ready;
  429: over the rate limit; 5xx: our failure): the key is free again and a retry runs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from chalicelib.domain.errors import Conflict, Unprocessable, ValidationFailed
from chalicelib.logs import logger
from chalicelib.store import idempotency as stored_keys

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"  # visible ASCII: UUIDs, ULIDs, anything printable
_KEY = re.compile(KEY_PATTERN)
STALE_AFTER_SECONDS = 60.0  # the API function's timeout is 30 s: an older IN_FLIGHT died
WAIT_SECONDS = 1.0  # for a first request in flight to answer
NOT_KEPT = frozenset({409, 429})


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    replayed: bool = False
    headers: dict[str, str] = field(default_factory=dict)  # of this answer, not kept


def fingerprint(method: str, path: str, content_type: str | None, body: bytes | None) -> str:
    digest = hashlib.sha256()
    for part in (method.upper(), path, (content_type or "").split(";")[0].strip().lower()):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(body or b"")
    return digest.hexdigest()


def check_key(key: str) -> str:
    if not _KEY.match(key):
        message = (f"must be 1 to {MAX_KEY_LENGTH} visible ASCII characters (e.g. a UUID); "
                   f"this one is {len(key)} characters")
        raise ValidationFailed(f"{HEADER}: {message}", code="INVALID_IDEMPOTENCY_KEY",
                               details=[{"field": HEADER, "message": message}])
    return key


def run(brand_id: str, key: str, request_fingerprint: str,
        call: Callable[[], Answer]) -> Answer:
    """The answer to a request carrying `key`: the kept one, or `call()`'s (kept)."""
    check_key(key)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        held = stored_keys.take(brand_id, key, request_fingerprint, time.time(),
                                STALE_AFTER_SECONDS)
        if held is None:
            break
        if held.fingerprint != request_fingerprint:
            message = ("this key was used for another request (method, path or body) in the "
                       "last 24 hours; use a new key for a new request")
            raise Unprocessable(f"{HEADER}: {message}", code="IDEMPOTENCY_KEY_REUSED",
                                details=[{"field": HEADER, "message": message}])
        if held.state == "DONE" and held.status is not None:
            return Answer(held.status, _load(held.body), replayed=True)
        if time.monotonic() >= deadline:
            message = ("a request with this key is still running; retry it in a few seconds "
                       "to get its answer")
            raise Conflict(f"{HEADER}: {message}", code="IDEMPOTENCY_KEY_IN_USE",
                           details=[{"field": HEADER, "message": message}])
        time.sleep(0.1)
    try:
        answer = call()
    except BaseException:
        stored_keys.release(brand_id, key)
        raise
    if answer.status >= 500 or answer.status in NOT_KEPT:
        stored_keys.release(brand_id, key)
        return answer
    try:
        stored_keys.finish(brand_id, key, answer.status, _dump(answer.body))
    except Exception:  # noqa: BLE001 - the write happened: answer it; a retry would run again
        logger.exception("idempotency key answer not kept", extra={"brand_id": brand_id})
        stored_keys.release(brand_id, key)
    return answer


def _dump(body: Any) -> str:
    text = json.dumps(body, separators=(",", ":"), default=str)
    return base64.b64encode(zlib.compress(text.encode(), 6)).decode()


def _load(stored: str | None) -> Any:
    if not stored:
        return None
    return json.loads(zlib.decompress(base64.b64decode(stored)).decode())
