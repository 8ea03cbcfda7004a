"""Query-string parameters, validated with clear errors."""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.domain.errors import field_error

MAX_LIMIT = 200


def limit(query: Mapping[str, str] | None, default: int = 50, maximum: int = MAX_LIMIT) -> int:
    raw = (query or {}).get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise field_error("limit", f"must be a whole number from 1 to {maximum}") from None
    if not 1 <= value <= maximum:
        raise field_error("limit", f"must be from 1 to {maximum}")
    return value


def optional(query: Mapping[str, str] | None, name: str) -> str | None:
    value = (query or {}).get(name)
    return value or None


def one_of(query: Mapping[str, str] | None, name: str, allowed: tuple[str, ...]) -> str | None:
    value = optional(query, name)
    if value is not None and value not in allowed:
        raise field_error(name, f"must be one of {', '.join(allowed)}")
    return value
