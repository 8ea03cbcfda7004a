"""API rate limits per brand: default 10 requests/s with a burst of 20, configurable per brand
(BrandModel.api_rate / api_burst, set by ops with `ops.onboard`). Over the limit: 429 with
Retry-After. Enforced in app.py's _principal, after authentication (the key names the brand).
The stage may change the defaults (API_RATE_DEFAULT, API_BURST_DEFAULT)."""

from __future__ import annotations

import time

from chalicelib.config import get_settings, on_reset
from chalicelib.domain.errors import TooManyRequests
from chalicelib.store import api_limits, brands

CONFIG_TTL_SECONDS = 60.0  # a changed limit reaches every Lambda instance within a minute

_config: dict[str, tuple[float, float, int]] = {}  # brand -> (read at, rate, burst)


def limits_for(brand_id: str, now: float) -> tuple[float, int]:
    cached = _config.get(brand_id)
    if cached is not None and now - cached[0] < CONFIG_TTL_SECONDS:
        return cached[1], cached[2]
    brand = brands.find_brand(brand_id)
    rate, burst = configured(brand.api_rate if brand else None,
                             brand.api_burst if brand else None)
    _config[brand_id] = (now, rate, burst)
    return rate, burst


def configured(rate: float | None, burst: float | None) -> tuple[float, int]:
    settings = get_settings()
    return (float(rate) if rate else settings.api_rate_default,
            int(burst) if burst else settings.api_burst_default)


def forget(brand_id: str) -> None:
    _config.pop(brand_id, None)


def forget_all() -> None:
    _config.clear()


on_reset(forget_all)


def check(brand_id: str) -> None:
    now = time.time()
    rate, burst = limits_for(brand_id, now)
    decision = api_limits.take(brand_id, rate, burst, now)
    if not decision.allowed:
        raise TooManyRequests(
            f"this brand's API limit is {rate:g} requests/s (burst {burst}); retry after "
            f"{decision.retry_after} s", retry_after=decision.retry_after)
