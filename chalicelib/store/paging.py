"""Opaque, tamper-proof pagination cursors around DynamoDB's LastEvaluatedKey.

A LastEvaluatedKey holds key attributes (a recipient's phone number, a brand id), so a cursor is
the key encrypted and authenticated with AES-256-GCM under the stage's cursor key (a secret read
by reference, CURSOR_KEY_PARAM; chalicelib/secret_store.py). Authenticated encryption rather than a
signature alone: a signed cursor would still show the phone number to whoever holds the link.
The list it belongs to (table, brand or campaign, filters) is the associated data, so a cursor
of another brand's or another list's page fails authentication like an altered one: 400
INVALID_CURSOR, never a DynamoDB error (500) and never another page's items.

Format: base64url(version byte | 12-byte random nonce | ciphertext and tag), without padding.
A rotated key makes the cursors handed out before it invalid (400): the client starts over.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from functools import lru_cache
from typing import Any

from chalicelib.config import get_settings
from chalicelib.domain.errors import ValidationFailed

VERSION = b"\x01"
NONCE_BYTES = 12


class InvalidCursor(ValidationFailed):
    code = "INVALID_CURSOR"

    def __init__(self) -> None:
        message = ("is not a cursor this API returned for this list (it was changed, made for "
                   "another list, or has expired); start again without a cursor")
        super().__init__(f"cursor: {message}", details=[{"field": "cursor",
                                                          "message": message}])


def encode_cursor(last_key: dict[str, Any] | None, scope: str) -> str | None:
    """The cursor for the page after `last_key` of the list named `scope`."""
    if not last_key:
        return None
    nonce = os.urandom(NONCE_BYTES)
    plain = json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode()
    sealed = _cipher().encrypt(nonce, plain, VERSION + scope.encode())
    return base64.urlsafe_b64encode(VERSION + nonce + sealed).decode().rstrip("=")


def decode_cursor(cursor: str | None, scope: str) -> dict[str, Any] | None:
    """The LastEvaluatedKey behind `cursor`, if it was made for the list named `scope`."""
    if not cursor:
        return None
    from cryptography.exceptions import InvalidTag

    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise InvalidCursor() from None
    if len(raw) <= 1 + NONCE_BYTES or raw[:1] != VERSION:
        raise InvalidCursor()
    nonce, sealed = raw[1:1 + NONCE_BYTES], raw[1 + NONCE_BYTES:]
    try:
        value = json.loads(_cipher().decrypt(nonce, sealed, VERSION + scope.encode()))
    except (InvalidTag, ValueError):
        raise InvalidCursor() from None
    if not isinstance(value, dict):
        raise InvalidCursor()
    return value


def _cipher() -> Any:
    """AES-GCM with the key derived from the stage's cursor secret (read by reference, cached
    like every secret, so a rotated secret is used within minutes without a deploy)."""
    ref = get_settings().cursor_key_param
    from chalicelib import secret_store
    secret = secret_store.get_secret(ref) if ref else _process_secret()
    return _aesgcm(secret)


@lru_cache(maxsize=4)
def _aesgcm(secret: str) -> Any:
    # Imported here: only the API pages; the other functions need not load it.
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = hmac.new(secret.encode(), b"proactive pagination cursor v1", hashlib.sha256).digest()
    return AESGCM(key)


@lru_cache(maxsize=1)
def _process_secret() -> str:
    """Without CURSOR_KEY_PARAM (a developer's machine without the local stack; the template and
    the local stack always set it): a random key of this process, so cursors stay opaque."""
    return os.urandom(32).hex()
