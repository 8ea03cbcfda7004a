"""The one place domain errors become HTTP answers: JSON, never a stack trace."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from chalice import Response  # type: ignore[attr-defined]
from chalice.app import ChaliceViewError

from chalicelib.domain.errors import DomainError, TooManyRequests
from chalicelib.logs import logger

JSON = {"Content-Type": "application/json"}


def error_response(status: int, code: str, message: str,
                   details: list[dict[str, Any]] | None = None,
                   headers: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return Response(body={"error": body}, status_code=status, headers={**JSON, **(headers or {})})


# Chalice's own answers (before or around a view) name their error in CamelCase.
CHALICE_CODES = {"UnsupportedMediaType": "UNSUPPORTED_MEDIA_TYPE",
                 "MethodNotAllowedError": "METHOD_NOT_ALLOWED", "BadRequest": "BAD_REQUEST",
                 "InternalServerError": "INTERNAL"}


def reshape_chalice_error(response: Response) -> Response:
    """A Chalice error body {"Code", "Message"} (its 405, 415, ...) as this API's Error body,
    headers such as Allow kept; any other answer unchanged."""
    body = response.body
    if response.status_code < 400 or not isinstance(body, dict) or set(body) != {"Code",
                                                                              "Message"}:
        return response
    code = CHALICE_CODES.get(str(body["Code"]), "ERROR")
    response.body = {"error": {"code": code, "message": str(body["Message"])}}
    response.headers = {**response.headers, **JSON}
    return response


def json_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    """Wraps a route: every DomainError -> its status and JSON body; anything else -> a logged
    500 with a JSON body (chalice catches view exceptions before any middleware sees them)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return _guarded(view, *args, **kwargs)

    return wrapper


def _guarded(view: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    try:
        return view(*args, **kwargs)
    except TooManyRequests as exc:
        return error_response(exc.status, exc.code, exc.message,
                              headers={"Retry-After": str(exc.retry_after)})
    except DomainError as exc:
        return error_response(exc.status, exc.code, exc.message, exc.details)
    except ChaliceViewError as exc:
        return error_response(exc.STATUS_CODE, type(exc).__name__.removesuffix("Error").upper(),
                              str(exc))
    except Exception:
        logger.exception("unhandled error in API request")
        return error_response(500, "INTERNAL", "an internal error occurred; it has been logged")
