"""API keys: `Authorization: Bearer <key>`; stored as a SHA-256 hash, bound to a brand and role."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from chalicelib.domain.errors import Forbidden, Unauthorized
from chalicelib.domain.ids import new_id
from chalicelib.store import brands
from chalicelib.store.models import ApiKeyModel

ROLES = ("admin", "campaign_manager", "agent", "agent_manager")
TOOL_ROLES = ("admin", "campaign_manager")  # may use campaigns, analytics, reports
ADMIN_ROLES = ("admin",)
# Create and submit WhatsApp templates: users of the web tool (PRODUCT.md); approval is WhatsApp's.
TEMPLATE_ROLES = TOOL_ROLES
AGENT_ROLES = ("admin", "campaign_manager", "agent", "agent_manager")
LAST_USED_RESOLUTION_SECONDS = 60.0  # last_used_at is written at most once a minute per key


@dataclass(frozen=True)
class Principal:
    brand_id: str
    role: str
    key_id: str
    label: str


def hash_key(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def authenticate(authorization: str | None) -> Principal:
    if not authorization:
        raise Unauthorized("missing Authorization header; send 'Authorization: Bearer <api key>'")
    scheme, _, secret = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthorized("the Authorization header must be 'Bearer <api key>'")
    key = brands.get_api_key(hash_key(secret.strip()))
    if key is None or key.revoked_at is not None:
        raise Unauthorized("the API key is not valid (unknown or revoked)")
    used = now()
    if key.last_used_at is None or used - float(key.last_used_at) >= LAST_USED_RESOLUTION_SECONDS:
        brands.touch_key(key, used, LAST_USED_RESOLUTION_SECONDS)
    return Principal(brand_id=key.brand_id, role=key.role, key_id=key.key_id, label=key.label)


def require(principal: Principal, roles: tuple[str, ...]) -> Principal:
    if principal.role not in roles:
        raise Forbidden(f"the role '{principal.role}' may not use this; it needs one of: "
                        + ", ".join(roles))
    return principal


def create_key(brand_id: str, role: str, label: str = "") -> tuple[ApiKeyModel, str]:
    """A new key; the secret is returned once and only its hash is stored."""
    key, secret = new_key(brand_id, role, label)
    brands.save_key(key)
    return key, secret


def new_key(brand_id: str, role: str, label: str = "") -> tuple[ApiKeyModel, str]:
    """A key not saved yet, and its secret."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role}")
    secret = f"pk_{secrets.token_urlsafe(24)}"
    key = ApiKeyModel(
        hash_key(secret),
        brand_id=brand_id,
        key_id=new_id("key"),
        role=role,
        label=label,
        created_at=datetime.now(UTC).isoformat(),
    )
    return key, secret


def now() -> float:
    return time.time()
