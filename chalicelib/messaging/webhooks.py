"""Webhooks from the gateway (Twilio): the exact public URL, the form, the signature.

Twilio signs the full URL it called (scheme, host, stage path, query) plus the sorted form
parameters with the account's auth token (HMAC-SHA1, header X-Twilio-Signature). That URL is
rebuilt from the request as API Gateway delivers it (request_base_url): its Host header and the
path before the route (the stage, `/api`, on an execute-api host; nothing, or the base path
mapping, on a custom domain). A configured WEBHOOK_BASE_URL / PUBLIC_BASE_URL (e.g.
https://sms.example.com behind a proxy that rewrites the host) overrides it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from twilio.request_validator import RequestValidator

from chalicelib.domain.errors import Forbidden

INBOUND_PATH = "/webhooks/twilio/inbound"
STATUS_PATH = "/webhooks/twilio/status"
SIGNATURE_HEADER = "X-Twilio-Signature"
WHATSAPP_PREFIX = "whatsapp:"


def public_url(base_url: str, path: str, query: Mapping[str, str] | None = None) -> str:
    url = base_url.rstrip("/") + path
    if query:
        url += "?" + urlencode(list(query.items()))
    return url


def request_base_url(headers: Mapping[str, str], context: Mapping[str, Any],
                     route_path: str) -> str:
    """The public URL the gateway called, up to the route (`route_path`): scheme and host from
    the request, plus what API Gateway put in front of the route. requestContext.path is the
    path as called (`/api/webhooks/...` on the execute-api host, `/webhooks/...` on a custom
    domain without base path), so the prefix is whatever precedes the route in it."""
    host = headers.get("host") or str(context.get("domainName") or "")
    # API Gateway sends X-Forwarded-Proto (always https); chalice's local server is plain http.
    scheme = headers.get("x-forwarded-proto") or ("https" if context.get("domainName") else "http")
    called = str(context.get("path") or "")
    if called.endswith(route_path):
        prefix = called[:len(called) - len(route_path)]
    elif context.get("stage") and host.endswith(".amazonaws.com"):
        prefix = f"/{context['stage']}"  # an event without requestContext.path
    else:
        prefix = ""
    return f"{scheme.split(',')[0].strip()}://{host}{prefix.rstrip('/')}"


def parse_form(raw_body: bytes | str | None) -> dict[str, str]:
    """The form as sent. Bytes that are not UTF-8 (the gateway always sends UTF-8) are replaced,
    so such a body fails the signature check (403) rather than being trusted."""
    if raw_body is None:
        return {}
    text = raw_body.decode("utf-8", errors="replace") if isinstance(raw_body, bytes) \
        else raw_body
    return dict(parse_qsl(text, keep_blank_values=True))


def verify(auth_token: str, url: str, form: Mapping[str, str], signature: str | None) -> None:
    """Raise Forbidden unless `signature` is the gateway's signature of `url` and `form`."""
    if not auth_token:
        raise Forbidden("webhooks are refused: no gateway auth token is configured",
                        code="SIGNATURE_INVALID")
    if not signature:
        raise Forbidden(f"missing {SIGNATURE_HEADER} header", code="SIGNATURE_INVALID")
    if not RequestValidator(auth_token).validate(url, dict(form), signature):
        raise Forbidden(f"{SIGNATURE_HEADER} does not match this request at {url}",
                        code="SIGNATURE_INVALID")


TokenFor = Callable[[Mapping[str, str]], str]


def signed_form(raw_body: bytes | str | None, signature: str | None, base_url: str, path: str,
                auth_token: str | TokenFor,
                query: Mapping[str, str] | None = None) -> dict[str, str]:
    """The webhook's form, once its signature is checked on the exact public URL (403 if not).
    `auth_token` may be a function of the (unverified) form: the token of the account the
    webhook names, e.g. the brand owning the number (the signature then proves it)."""
    form = parse_form(raw_body)
    token = auth_token(form) if callable(auth_token) else auth_token
    verify(token, public_url(base_url, path, query), form, signature)
    return form


def sign(auth_token: str, url: str, form: Mapping[str, str]) -> str:
    """The signature the gateway would send (the sandbox and tests play the gateway)."""
    return str(RequestValidator(auth_token).compute_signature(url, dict(form)))


def split_address(address: str) -> tuple[str, str]:
    """("whatsapp", "+1...") for "whatsapp:+1...", ("sms", "+1...") for "+1..."."""
    address = address.strip()
    if address.lower().startswith(WHATSAPP_PREFIX):
        return "whatsapp", address[len(WHATSAPP_PREFIX):].strip()
    return "sms", address


def address(channel: str, phone: str) -> str:
    return f"{WHATSAPP_PREFIX}{phone}" if channel == "whatsapp" else phone
