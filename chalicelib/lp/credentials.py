"""API client credentials of a brand ("Enable API" in Settings): an admin enables the API (a
client id and secret, the secret shown once), rotates it (a new id and secret; tokens of the old
one stop working at once) or revokes it. Only the SHA-256 of the secret is stored; every change
is written with its audit entry in one transaction (services/audit_log.py)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

from chalicelib.domain.errors import Conflict, NotFound
from chalicelib.services import audit_log
from chalicelib.services.auth import Principal
from chalicelib.services.views import iso
from chalicelib.store import api_clients, audit
from chalicelib.store.api_clients import ApiClientModel

SHOWN_ONCE = "the client secret is shown only now; store it safely"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_pair() -> tuple[str, str]:
    return secrets.token_hex(16), f"lps_{secrets.token_urlsafe(32)}"


def view(client: ApiClientModel | None) -> dict[str, Any]:
    if client is None:
        return {"enabled": False, "client_id": None, "created_at": None, "rotated_at": None,
                "revoked_at": None}
    return {"enabled": client.revoked_at is None, "client_id": client.client_id,
            "created_at": iso(client.created_at), "rotated_at": iso(client.rotated_at),
            "revoked_at": iso(client.revoked_at)}


def get(principal: Principal) -> dict[str, Any]:
    return view(api_clients.find(principal.brand_id))


def enable(principal: Principal) -> dict[str, Any]:
    previous = api_clients.find(principal.brand_id)
    if previous is not None and previous.revoked_at is None:
        raise Conflict("the API is enabled already; rotate the credentials for a new secret",
                       code="ALREADY_ENABLED")
    client_id, secret = _new_pair()
    now = time.time()
    client = ApiClientModel(principal.brand_id, client_id=client_id,
                            secret_hash=hash_secret(secret), created_at=now,
                            created_by=principal.label or principal.key_id)
    audit.commit([api_clients.enable_step(client, previous)],
                 audit_log.entry(principal, principal.brand_id, "api_client.enable", client_id,
                                 view(previous) if previous else None, view(client)))
    return {**view(client), "client_secret": secret, "note": SHOWN_ONCE}


def _active(principal: Principal) -> ApiClientModel:
    client = api_clients.find(principal.brand_id)
    if client is None or client.revoked_at is not None:
        raise NotFound("the API is not enabled for this brand")
    return client


def rotate(principal: Principal) -> dict[str, Any]:
    client = _active(principal)
    before = view(client)
    client_id, secret = _new_pair()
    now = time.time()
    audit.commit([api_clients.rotate_step(client, client_id, hash_secret(secret), now)],
                 audit_log.entry(principal, principal.brand_id, "api_client.rotate", client_id,
                                 before, {**before, "client_id": client_id,
                                          "rotated_at": iso(now)}))
    client.client_id, client.rotated_at = client_id, now
    return {**view(client), "client_secret": secret, "note": SHOWN_ONCE}


def revoke(principal: Principal) -> dict[str, Any]:
    client = _active(principal)
    before = view(client)
    now = time.time()
    audit.commit([api_clients.revoke_step(client, now)],
                 audit_log.entry(principal, principal.brand_id, "api_client.revoke",
                                 client.client_id, before, {**before, "enabled": False,
                                                            "revoked_at": iso(now)}))
    client.revoked_at = now
    return view(client)


def check(brand_id: str, client_id: str, secret: str) -> ApiClientModel | None:
    """The brand's active client if `client_id` and `secret` are its credentials; else None."""
    client = api_clients.find(brand_id)
    if client is None or client.revoked_at is not None:
        return None
    same_id = hmac.compare_digest(client.client_id.encode(), client_id.encode())
    same_secret = hmac.compare_digest(client.secret_hash, hash_secret(secret))
    return client if same_id and same_secret else None


def active_client(brand_id: str, client_id: str) -> bool:
    client = api_clients.find(brand_id)
    return bool(client and client.revoked_at is None and client.client_id == client_id)
