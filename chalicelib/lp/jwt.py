"""HS256 JSON Web Tokens (RFC 7519), small and strict: the header must be {"alg": "HS256"}, the
signature is compared in constant time, `exp` is checked. No dependency (PyJWT is not one of the
Lambda's packages); tests check the tokens against PyJWT where it is installed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


class TokenError(Exception):
    """Why a token is refused: `expired` tells a client to fetch a new one."""

    def __init__(self, message: str, expired: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.expired = expired


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or any(c not in _ALPHABET for c in text):
        raise TokenError("malformed token")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError:
        raise TokenError("malformed token") from None


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
_HEADER = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())


def encode(claims: dict[str, Any], key: bytes) -> str:
    payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    signing_input = f"{_HEADER}.{payload}".encode("ascii")
    return f"{_HEADER}.{payload}.{_b64(hmac.new(key, signing_input, hashlib.sha256).digest())}"


def decode(token: str, key: bytes, now: float, leeway: float = 0.0) -> dict[str, Any]:
    """The claims of a valid, unexpired HS256 token signed with `key`; else TokenError."""
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("malformed token")
    header_raw, payload_raw, signature_raw = parts
    try:
        header = json.loads(_unb64(header_raw))
    except ValueError:
        raise TokenError("malformed token") from None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise TokenError("invalid algorithm")
    expected = hmac.new(key, f"{header_raw}.{payload_raw}".encode("ascii"),
                        hashlib.sha256).digest()
    if not hmac.compare_digest(expected, _unb64(signature_raw)):
        raise TokenError("invalid signature")
    try:
        claims = json.loads(_unb64(payload_raw))
    except ValueError:
        raise TokenError("malformed token") from None
    if not isinstance(claims, dict):
        raise TokenError("malformed token")
    exp = claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise TokenError("the token has no expiry")
    if now >= float(exp) + leeway:
        raise TokenError("jwt expired", expired=True)
    return claims
