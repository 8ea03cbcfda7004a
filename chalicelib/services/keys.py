"""API keys of a brand, managed by its admins: list (never the secret), create (the secret is
shown once), revoke (the key gets 401 from the next request on: keys are looked up on every
request, never cached)."""

from __future__ import annotations

import time
from typing import Any

from chalicelib.domain.admin_inputs import KeyIn
from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.services import audit_log, auth
from chalicelib.services.auth import Principal
from chalicelib.services.views import iso
from chalicelib.store import audit, brands
from chalicelib.store.models import ApiKeyModel


def key_view(key: ApiKeyModel) -> dict[str, Any]:
    return {
        "id": key.key_id,
        "role": key.role,
        "label": key.label,
        "created_at": key.created_at.replace("+00:00", "Z"),
        "last_used_at": iso(key.last_used_at),
        "revoked_at": iso(key.revoked_at),
        "active": key.revoked_at is None,
    }


def list_keys(principal: Principal) -> dict[str, Any]:
    keys = sorted(brands.brand_keys(principal.brand_id), key=lambda k: k.created_at,
                  reverse=True)
    return {"items": [key_view(k) for k in keys]}


def create(principal: Principal, payload: KeyIn) -> dict[str, Any]:
    key, secret = auth.new_key(principal.brand_id, payload.role, payload.label)
    view = key_view(key)
    audit.commit(
        [brands.new_key_step(key)],
        audit_log.entry(principal, principal.brand_id, "key.create", key.key_id, None,
                        {"role": key.role, "label": key.label}))
    return {**view, "secret": secret,
            "note": "the secret is shown only now; store it safely"}


def revoke(principal: Principal, key_id: str) -> dict[str, Any]:
    keys = brands.brand_keys(principal.brand_id)
    key = next((k for k in keys if k.key_id == key_id), None)
    if key is None:
        raise NotFound(f"API key {key_id} does not exist")
    if key.revoked_at is not None:
        raise Conflict(f"API key {key_id} was already revoked", code="ALREADY_REVOKED")
    admins = [k for k in keys if k.role == "admin" and k.revoked_at is None]
    if key.role == "admin" and len(admins) == 1:
        raise Conflict("this is the brand's last active admin key; create another admin key "
                       "before revoking it", code="LAST_ADMIN_KEY")
    now = time.time()
    audit.commit(
        [brands.revoke_key_step(key, now, f"API key {key_id} was already revoked")],
        audit_log.entry(principal, principal.brand_id, "key.revoke", key_id,
                        {"role": key.role, "label": key.label, "active": True},
                        {"role": key.role, "label": key.label, "active": False}))
    key.revoked_at = now
    return key_view(key)


