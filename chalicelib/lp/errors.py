"""Errors of the compatible API, in LivePerson's shape: {"code": 0, "requestTraceId": "<uuid>",
"message": "..."} (an expired token: exactly {"code": 0, "message": "jwt expired"}). Domain errors
of our services are answered with their status and message in that shape; never a 500 for bad
input."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable
from typing import Any

from chalice import Response  # type: ignore[attr-defined]
from chalice.app import ChaliceViewError

from chalicelib.domain.errors import DomainError, TooManyRequests
from chalicelib.logs import logger

JSON = {"Content-Type": "application/json"}


class LpError(Exception):
    def __init__(self, status: int, message: str, extra: dict[str, Any] | None = None,
                 trace: bool = True) -> None:
        super().__init__(message)
        self.status, self.message, self.extra, self.trace = status, message, extra or {}, trace


def body(message: str, extra: dict[str, Any] | None = None, trace: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"code": 0}
    if trace:
        out["requestTraceId"] = str(uuid.uuid4())
    out["message"] = message
    out.update(extra or {})
    return out


def response(status: int, message: str, extra: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None, trace: bool = True) -> Response:
    return Response(body=body(message, extra, trace), status_code=status,
                    headers={**JSON, **(headers or {})})


def expired() -> LpError:
    return LpError(401, "jwt expired", trace=False)


def lp_errors(view: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except LpError as exc:
            return response(exc.status, exc.message, exc.extra, trace=exc.trace)
        except TooManyRequests as exc:
            return response(429, exc.message, headers={"Retry-After": str(exc.retry_after)})
        except DomainError as exc:
            fields = [d["field"] for d in exc.details if "field" in d]
            return response(exc.status, exc.message, {"fields": fields} if fields else None)
        except ChaliceViewError as exc:
            return response(exc.STATUS_CODE, str(exc))
        except Exception:
            logger.exception("unhandled error in a LivePerson-compatible request")
            return response(500, "an internal error occurred; it has been logged")

    return wrapper
