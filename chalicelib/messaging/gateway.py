"""The messaging gateway (Twilio's Messages API), and what its failures mean for us.

Failures become one GatewayError with a `kind` the send path acts on:
- transient: the gateway certainly did not take the message (429, a 4xx code documented as "not
  accepted, try again", could not connect): resent after a backoff;
- permanent: it never will (invalid number, filtered...): FAILED with the code;
- opted_out: the consumer blocked the sender at the carrier (21610): opt out brand-wide;
- not_whatsapp: the number cannot receive WhatsApp (Prioritized falls back to SMS);
- ambiguous: the gateway may have taken it (timeout after sending, or any 5xx answer: a 500, 502,
  503 or 504 may come from a proxy or a server that failed after storing the message): looked
  up at the gateway (services/reconcile_sends.py) before any resend, never resent blind.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Literal, TypeVar

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from chalicelib import secret_store
from chalicelib.config import get_settings, on_reset
from chalicelib.logs import logger

Kind = Literal["transient", "permanent", "opted_out", "not_whatsapp", "ambiguous"]

OPTED_OUT_CODES = {21610}
NOT_WHATSAPP_CODES = {63003, 63024}
TRANSIENT_CODES = {20429, 21611, 30001}
REQUEST_TIMEOUT_SECONDS = 10.0
LOOKUP_PAGE_SIZE = 50
CLOCK_SKEW_SECONDS = 120.0
C = TypeVar("C")
T = TypeVar("T")


@dataclass(frozen=True)
class SentMessage:
    sid: str
    status: str


class GatewayError(Exception):
    def __init__(self, kind: Kind, code: str, message: str) -> None:
        super().__init__(f"{kind} {code}: {message}")
        self.kind: Kind = kind
        self.code = code
        self.message = message


def classify(exc: Exception) -> GatewayError:
    if isinstance(exc, TwilioRestException):
        code = int(exc.code or 0)
        message = str(exc.msg or exc)
        if code in OPTED_OUT_CODES:
            return GatewayError("opted_out", str(code), message)
        if code in NOT_WHATSAPP_CODES:
            return GatewayError("not_whatsapp", str(code), message)
        if exc.status >= 500:
            return GatewayError("ambiguous", str(code or exc.status),
                                f"the gateway answered {exc.status} and may have accepted the "
                                f"message: {message}")
        if exc.status == 429 or code in TRANSIENT_CODES:
            return GatewayError("transient", str(code or exc.status), message)
        return GatewayError("permanent", str(code or exc.status), message)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return GatewayError("transient", "CONNECT_TIMEOUT", "could not reach the gateway")
    if isinstance(exc, requests.exceptions.ConnectionError) and _never_connected(exc):
        return GatewayError("transient", "CONNECTION_REFUSED", "could not reach the gateway")
    if isinstance(exc, requests.exceptions.RequestException):
        return GatewayError("ambiguous", "NO_ANSWER",
                            f"the gateway may have accepted the message: {type(exc).__name__}")
    raise exc


def _never_connected(exc: requests.exceptions.ConnectionError) -> bool:
    text = repr(exc)
    return "NewConnectionError" in text or "Connection refused" in text


class TwilioGateway:
    """Talks to Twilio, or to anything that speaks its API (the sandbox) at settings' base URL."""

    def __init__(self, account_sid: str, auth_token: str, base_url: str | None,
                 timeout_seconds: float = REQUEST_TIMEOUT_SECONDS) -> None:
        self.client = Client(account_sid, auth_token or "sandbox",
                             http_client=TwilioHttpClient(timeout=timeout_seconds))
        if base_url:
            self.client.api.base_url = base_url.rstrip("/")
        # twilio imports its API modules on first use (~0.1 s); do it now, not at a send slot.
        self.messages = self.client.api.v2010.account.messages

    def send(self, *, to: str, from_: str, body: str | None = None,
             status_callback: str | None = None, validity_seconds: int | None = None,
             content_sid: str | None = None, content_variables: str | None = None) -> SentMessage:
        params: dict[str, Any] = {"to": to, "from_": from_}
        if body is not None:
            params["body"] = body
        if status_callback:
            params["status_callback"] = status_callback
        if validity_seconds:
            params["validity_period"] = max(1, min(36000, validity_seconds))
        if content_sid:
            params["content_sid"] = content_sid
            params["content_variables"] = content_variables
        try:
            message = self.messages.create(**params)
        except Exception as exc:  # noqa: BLE001 - classify() re-raises what it does not know
            raise classify(exc) from exc
        return SentMessage(sid=str(message.sid), status=str(message.status))

    def find_sent(self, *, to: str, from_: str, since: float,
                  body: str | None = None) -> SentMessage | None:
        """The message the gateway took from `from_` to `to` at or after `since`, if any.

        Lists by To and From (newest first) and filters on date_created here: a DateSent filter
        would miss a message the gateway took but has not sent yet (date_sent is empty until
        then), which is exactly the case a reconciliation must not miss.
        """
        try:
            found = self.messages.list(to=to, from_=from_, page_size=LOOKUP_PAGE_SIZE,
                                       limit=LOOKUP_PAGE_SIZE)
        except Exception as exc:  # noqa: BLE001 - classify() re-raises what it does not know
            raise classify(exc) from exc
        earliest = datetime.fromtimestamp(since - CLOCK_SKEW_SECONDS, UTC)
        for message in found:
            created = message.date_created
            if created is not None and created < earliest:
                continue
            if body is not None and message.body not in (None, body):
                continue
            return SentMessage(sid=str(message.sid), status=str(message.status))
        return None

    def fetch(self, sid: str) -> SentMessage | None:
        try:
            message = self.messages(sid).fetch()
        except TwilioRestException as exc:
            if exc.status == 404:
                return None
            raise classify(exc) from exc
        except Exception as exc:  # noqa: BLE001
            raise classify(exc) from exc
        return SentMessage(sid=str(message.sid), status=str(message.status))


class Gateway:
    """The gateway for one credentials reference (a brand's own, `secret_ref`, else the
    stage's). Credentials are read from SSM / Secrets Manager by reference on every call
    (chalicelib/secret_store.py caches them for minutes) and the client is the one built for exactly
    those credentials, so a rotated token is used as soon as it is read, without a deploy. A 401
    (the token changed at the gateway first) re-reads the secret once and retries with the new
    credentials before anything is classed."""

    def __init__(self, secret_ref: str | None = None) -> None:
        self.secret_ref = secret_ref

    def client(self) -> TwilioGateway:
        account_sid, auth_token = secret_store.gateway_credentials(self.secret_ref)
        settings = get_settings()
        return _client(account_sid, auth_token, settings.twilio_api_base,
                       settings.gateway_timeout_seconds)

    def send(self, *, to: str, from_: str, body: str | None = None,
             status_callback: str | None = None, validity_seconds: int | None = None,
             content_sid: str | None = None, content_variables: str | None = None) -> SentMessage:
        def request(gateway: TwilioGateway) -> SentMessage:
            return gateway.send(to=to, from_=from_, body=body, status_callback=status_callback,
                                validity_seconds=validity_seconds, content_sid=content_sid,
                                content_variables=content_variables)

        return with_fresh_credentials(self.secret_ref, self.client, request)

    def find_sent(self, *, to: str, from_: str, since: float,
                  body: str | None = None) -> SentMessage | None:
        def request(gateway: TwilioGateway) -> SentMessage | None:
            return gateway.find_sent(to=to, from_=from_, since=since, body=body)

        return with_fresh_credentials(self.secret_ref, self.client, request)

    def fetch(self, sid: str) -> SentMessage | None:
        def request(gateway: TwilioGateway) -> SentMessage | None:
            return gateway.fetch(sid)

        return with_fresh_credentials(self.secret_ref, self.client, request)


def with_fresh_credentials(secret_ref: str | None, build: Callable[[], C],
                           request: Callable[[C], T],
                           reread: Callable[[str | None, float], None] | None = None) -> T:
    """`request` on the client `build` returns for the credentials read now; on 401, once more
    on the client for the credentials read again (when they changed). `build` must return the
    same client for the same credentials (an lru_cache keyed by them). `reread`: reads the
    secret again, bypassing the cache (default secret_store.reread)."""
    started = time.time()
    client = build()
    try:
        return request(client)
    except GatewayError as error:
        if not unauthorized(error):
            raise
        refused = error
    if reread is None:
        secret_store.reread(secret_ref, read_before=started)
    else:
        reread(secret_ref, started)
    fresh = build()
    if fresh is not client:
        logger.info("gateway credentials changed; retrying with the new ones")
        try:
            return request(fresh)
        except GatewayError as error:
            if not unauthorized(error):
                raise
            refused = error
    # Still refused: the token was rotated at the gateway before the stored secret (or the
    # secret is wrong). Not a verdict on the message: transient, so sends retry with backoff
    # and pick up the secret once it is stored, and FAIL only after the last attempt.
    raise GatewayError("transient", refused.code,
                       f"the gateway refused our credentials: {refused.message}") from \
        refused.__cause__


def unauthorized(error: GatewayError) -> bool:
    """The gateway refused our credentials (401): not a verdict on the message."""
    cause = error.__cause__
    return isinstance(cause, TwilioRestException) and cause.status == 401


@lru_cache(maxsize=32)
def _client(account_sid: str, auth_token: str, base_url: str | None,
            timeout_seconds: float) -> TwilioGateway:
    # Keyed by the credentials: a rotated token gets a new client, the old one is dropped.
    return TwilioGateway(account_sid, auth_token, base_url, timeout_seconds)


def get_gateway(secret_ref: str | None = None) -> Gateway:
    """The gateway with the stage's credentials, or a brand's own (`secret_ref`; see
    services/gateways.py for a brand's)."""
    return Gateway(secret_ref)


def forget_clients() -> None:
    _client.cache_clear()


on_reset(forget_clients)
