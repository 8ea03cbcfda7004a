"""The AppJWT of the compatible API: issued by the token endpoint for a brand's API client
credentials, HS256 with the stage's key (LP_TOKEN_KEY_PARAM, a generated secret of the template
read by reference like every secret), one hour. A token acts as the campaign-manager role of its
brand on the compatible paths only (our own API takes API keys, never these tokens); it stops
working when its client is rotated or revoked."""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from functools import lru_cache
from typing import Any

from chalicelib import secret_store
from chalicelib.lp import credentials, jwt
from chalicelib.lp.errors import LpError, expired
from chalicelib.services.auth import Principal

TOKEN_SECONDS = 3600
ISSUER = "proactive-sentinel"
SCOPE = "proactive-messaging outbound-reporting"
ROLE = "campaign_manager"


def _key() -> bytes:
    ref = os.environ.get("LP_TOKEN_KEY_PARAM", "")
    secret = secret_store.get_secret(ref) if ref else _process_secret()
    return hmac.new(secret.encode(), b"proactive lp app jwt v1", hashlib.sha256).digest()


@lru_cache(maxsize=1)
def _process_secret() -> str:
    """Without LP_TOKEN_KEY_PARAM (a developer's machine without the local stack; the template
    and the local stack always set it): a random key of this process."""
    return os.urandom(32).hex()


def issue(account_id: str, client_id: str, client_secret: str,
          now: float | None = None) -> dict[str, Any]:
    if not client_id or not client_secret:
        raise LpError(401, "client_id and client_secret are required (form body or query)")
    if credentials.check(account_id, client_id, client_secret) is None:
        raise LpError(401, "invalid client credentials")
    issued = int(time.time() if now is None else now)
    claims = {"aud": account_id, "azp": client_id, "scope": SCOPE, "iss": ISSUER,
              "iat": issued, "exp": issued + TOKEN_SECONDS}
    return {"access_token": jwt.encode(claims, _key()), "token_type": "Bearer"}


def principal(authorization: str | None, account_id: str,
              now: float | None = None) -> Principal:
    """The brand's campaign manager acting through the token in `authorization`, for the
    account in the path; LpError 401 otherwise (expired: exactly "jwt expired")."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise LpError(401, "missing bearer token; send 'Authorization: Bearer <access_token>' "
                      "from the token endpoint")
    try:
        claims = jwt.decode(token.strip(), _key(), time.time() if now is None else now)
    except jwt.TokenError as error:
        if error.expired:
            raise expired() from None
        raise LpError(401, f"invalid token: {error.message}") from None
    if claims.get("aud") != account_id:
        raise LpError(401, f"the token was not issued for account {account_id}")
    client_id = str(claims.get("azp") or "")
    if not credentials.active_client(account_id, client_id):
        raise LpError(401, "the API client of this token was rotated or revoked")
    return Principal(brand_id=account_id, role=ROLE, key_id=f"apiclient:{client_id}",
                     label=f"API client {client_id}")
