"""Which gateway account serves a brand: its own (`gateway_secret_ref`, set at onboarding) or the
stage's. Everything that talks to the gateway for a brand goes through here: sends, look-ups,
keyword confirmations, agents' answers, WhatsApp templates, and the auth token that checks the
webhooks of the brand's numbers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from chalicelib import secret_store
from chalicelib.config import on_reset
from chalicelib.messaging import webhooks
from chalicelib.messaging.gateway import Gateway, get_gateway
from chalicelib.store import brands

CACHE_SECONDS = 60.0  # a brand's reference (set at onboarding) and a number's brand
_cache: dict[str, tuple[float, str | None]] = {}
_lock = threading.Lock()


def secret_ref(brand_id: str) -> str | None:
    """The brand's own credentials reference, or None for the stage's."""
    return _cached(f"brand#{brand_id}", lambda: brands.get_brand(brand_id).gateway_secret_ref)


def for_brand(brand_id: str) -> Gateway:
    return get_gateway(secret_ref(brand_id))


def _number_ref(number: str) -> str | None:
    """The credentials reference of the brand owning `number` (None: the stage's, also for a
    number no brand owns)."""
    brand_id = _cached(f"number#{number}", lambda: _owner(number))
    return secret_ref(brand_id) if brand_id else None


def _owner(number: str) -> str | None:
    sender = brands.get_sender_number(number)
    return str(sender.brand_id) if sender is not None else None


def inbound_token(form: Mapping[str, str]) -> str:
    """The auth token an inbound webhook is signed with: that of the account of the brand
    owning the number written to (`To`)."""
    return secret_store.gateway_credentials(_number_ref(webhooks.split_address(
        form.get("To", ""))[1]))[1]


def status_token(form: Mapping[str, str]) -> str:
    """The auth token a status callback is signed with: that of the account of the brand
    whose number sent the message (`From`)."""
    return secret_store.gateway_credentials(_number_ref(webhooks.split_address(
        form.get("From", ""))[1]))[1]


def _cached(key: str, load: Callable[[], str | None]) -> str | None:
    now = time.time()
    with _lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    value = load()
    with _lock:
        _cache[key] = (now, value)
    return value


def forget() -> None:
    with _lock:
        _cache.clear()


on_reset(forget)
