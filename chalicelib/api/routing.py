"""What every route shares: a feature's routes are a `Routes` blueprint (chalicelib/api/routes/),
whose `route` answers domain errors as JSON (chalicelib/api/errors.py), refuses bodies over the
limit with 413 and reads JSON bodies whatever their declared type; `principal` is the caller's
key within its brand's API rate limit, in one of the roles allowed."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

from chalice import Blueprint, Response  # type: ignore[attr-defined]

from chalicelib.api import errors, request_limits
from chalicelib.services import auth, idempotency, ratelimit

JSON_BODIES = ["application/json", "application/x-www-form-urlencoded"]


class Routes(Blueprint):  # type: ignore[misc]
    """A chalice Blueprint of one feature's routes (registered in app.py)."""

    def route(self, path: str, max_body_bytes: int = request_limits.MAX_BODY_BYTES,
              **kwargs: Any) -> Any:
        """Blueprint.route, with domain errors answered as JSON and bodies over
        `max_body_bytes` refused with 413."""
        register = super().route

        def decorate(view: Any) -> Any:
            @functools.wraps(view)
            def limited(*args: Any, **kw: Any) -> Any:
                request_limits.check_body_size(self.current_request, max_body_bytes)
                return view(*args, **kw)

            # JSON bodies are read as JSON whatever the declared type: `curl -d '{...}'` (sent
            # as form-urlencoded) gets a clear answer about the body, not chalice's bare 415.
            kwargs.setdefault("content_types", list(JSON_BODIES))
            return register(path, **kwargs)(errors.json_errors(limited))

        return decorate

    def request(self) -> Any:
        """The request being answered."""
        return self.current_request

    def principal(self, roles: tuple[str, ...]) -> auth.Principal:
        """The caller's key, within its brand's API rate limit (429 beyond), in one of
        `roles`."""
        headers = self.current_request.headers
        principal = auth.authenticate(headers.get("authorization"))
        ratelimit.check(principal.brand_id)
        return auth.require(principal, roles)

    def once(self, principal: auth.Principal, view: Callable[[], Any]) -> Response:
        """`view()`'s answer, once per Idempotency-Key of the brand (chalicelib/services/
        idempotency.py): a retry with the key and the same request gets the first answer again;
        without the header the view simply runs."""
        request: Any = self.current_request
        key = (request.headers or {}).get(idempotency.HEADER.lower())
        answered = errors.json_errors(view)
        if key is None:
            response = answered()
            return response if isinstance(response, Response) else Response(body=response)
        fingerprint = idempotency.fingerprint(
            request.method, (request.context or {}).get("path") or json.dumps(request.uri_params),
            request.headers.get("content-type"), request.raw_body)

        def call() -> idempotency.Answer:
            response = answered()
            if not isinstance(response, Response):
                return idempotency.Answer(200, response)
            return idempotency.Answer(response.status_code, response.body,
                                      headers={k: str(v) for k, v in
                                               (response.headers or {}).items()})

        answer = idempotency.run(principal.brand_id, key, fingerprint, call)
        headers: dict[str, str | list[str]] = (
            {"Idempotent-Replayed": "true"} if answer.replayed else dict(answer.headers))
        return Response(body=answer.body, status_code=answer.status, headers=headers)
