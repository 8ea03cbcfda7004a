"""What every route shares: a feature's routes are a `Routes` blueprint (chalicelib/api/routes/),
whose `route` answers domain errors as JSON (chalicelib/api/errors.py), refuses bodies over the
limit with 413 and reads JSON bodies whatever their declared type; `principal` is the caller's
key within its brand's API rate limit, in one of the roles allowed."""

from __future__ import annotations

import functools
from typing import Any

from chalice import Blueprint  # type: ignore[attr-defined]

from chalicelib.api import errors, request_limits
from chalicelib.services import auth, ratelimit

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
