"""Secrets (gateway credentials, the pagination cursor key) read at run time from SSM Parameter
Store (SecureString) or Secrets Manager. The environment holds only the parameter's NAME (e.g.
TWILIO_AUTH_TOKEN_PARAM=/proactive/prod/twilio/auth-token), never the secret; values are cached
for a few minutes so a rotated secret is picked up without a deploy.

A gateway secret's value is either the auth token alone (the account SID then comes from
TWILIO_ACCOUNT_SID) or JSON: {"account_sid": "AC...", "auth_token": "..."}.
"""

from __future__ import annotations

import json
import threading
import time

from chalicelib import aws
from chalicelib.config import get_settings, on_reset

CACHE_SECONDS = 300.0
_cache: dict[str, tuple[float, str]] = {}
_lock = threading.Lock()


def get_secret(ref: str) -> str:
    """The value behind `ref`: an SSM parameter name, or a Secrets Manager ARN/name prefixed
    with 'secretsmanager:'."""
    now = time.time()
    with _lock:
        cached = _cache.get(ref)
    if cached is not None and now - cached[0] < CACHE_SECONDS:
        return cached[1]
    value = _read(ref)
    with _lock:
        _cache[ref] = (now, value)
    return value


def reread(ref: str | None, read_before: float) -> None:
    """Read `ref` (None: the stage's gateway credentials) again on its next use, if the value
    cached was read before `read_before` (when the refused request started): a burst of
    refusals (every send of a batch getting 401 after a rotation) makes one read, not one each."""
    ref = ref or get_settings().twilio_auth_token_param
    with _lock:
        cached = _cache.get(ref)
        if cached is not None and cached[0] < read_before:
            del _cache[ref]


def _read(ref: str) -> str:
    if ref.startswith("arn:aws:secretsmanager:") or ref.startswith("secretsmanager:"):
        secret_id = ref.removeprefix("secretsmanager:")
        return str(aws.client("secretsmanager").get_secret_value(
            SecretId=secret_id)["SecretString"])
    return str(aws.client("ssm").get_parameter(Name=ref, WithDecryption=True)
               ["Parameter"]["Value"])


def gateway_credentials(ref: str | None = None) -> tuple[str, str]:
    """(account SID, auth token) for the gateway: from `ref` (a brand's own credentials), else
    the stage's TWILIO_AUTH_TOKEN_PARAM. Only where neither is configured (a developer's machine
    without the local stack) does the plain TWILIO_AUTH_TOKEN variable serve, as a fallback."""
    settings = get_settings()
    ref = ref or settings.twilio_auth_token_param
    if not ref:
        return settings.twilio_account_sid, settings.twilio_auth_token
    value = get_secret(ref).strip()
    if value.startswith("{"):
        data = json.loads(value)
        return str(data.get("account_sid") or settings.twilio_account_sid), str(
            data["auth_token"])
    return settings.twilio_account_sid, value


def forget() -> None:
    with _lock:
        _cache.clear()


on_reset(forget)
