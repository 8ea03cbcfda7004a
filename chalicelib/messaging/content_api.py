"""WhatsApp templates at the gateway: Twilio's Content API (create content, request WhatsApp
approval, read the approval status). The sandbox speaks the same API locally.

The content's sid ("HX...") is what a WhatsApp send names as ContentSid.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList
from twilio.rest.content.v1.content.approval_create import ApprovalCreateList

from chalicelib import secret_store
from chalicelib.config import get_settings
from chalicelib.messaging.gateway import (
    REQUEST_TIMEOUT_SECONDS,
    classify,
    with_fresh_credentials,
)

# Twilio's approval statuses -> ours (TemplateModel.status).
STATUS_MAP = {
    "unsubmitted": "DRAFT",
    "received": "PENDING",
    "pending": "PENDING",
    "approved": "APPROVED",
    "rejected": "REJECTED",
    "paused": "PAUSED",
    "disabled": "DISABLED",
}


@dataclass(frozen=True)
class Approval:
    status: str  # ours: DRAFT | PENDING | APPROVED | REJECTED | PAUSED | DISABLED
    reason: str | None


class ContentApi:
    def __init__(self, account_sid: str, auth_token: str, base_url: str | None) -> None:
        self.client = Client(account_sid, auth_token or "sandbox",
                             http_client=TwilioHttpClient(timeout=REQUEST_TIMEOUT_SECONDS))
        if base_url:
            self.client.content.base_url = base_url.rstrip("/")

    def create(self, *, name: str, language: str, body: str, variable_count: int) -> str:
        """The content's sid ("HX...")."""
        request = ContentList.ContentCreateRequest({
            "friendly_name": name,
            "language": language,
            "variables": {str(n): f"value {n}" for n in range(1, variable_count + 1)},
            "types": {"twilio/text": {"body": body}},
        })
        content = self._call(lambda: self.client.content.v1.contents.create(request))
        return str(content.sid)

    def submit(self, sid: str, *, name: str, category: str) -> Approval:
        request = ApprovalCreateList.ContentApprovalRequest({"name": name, "category": category})
        answer = self._call(
            lambda: self.client.content.v1.contents(sid).approval_create.create(request))
        return _approval(answer.status, answer.rejection_reason)

    def approval(self, sid: str) -> Approval:
        answer = self._call(lambda: self.client.content.v1.contents(sid).approval_fetch().fetch())
        whatsapp: dict[str, Any] = answer.whatsapp or {}
        return _approval(whatsapp.get("status"), whatsapp.get("rejection_reason"))

    @staticmethod
    def _call(request: Any) -> Any:
        try:
            return request()
        except Exception as exc:  # noqa: BLE001 - classify() re-raises what it does not know
            raise classify(exc) from exc


def _approval(status: str | None, reason: str | None) -> Approval:
    return Approval(STATUS_MAP.get((status or "").lower(), "PENDING"), reason or None)


class BrandContentApi:
    """The Content API of one credentials reference (a brand's own, else the stage's): like
    messaging/gateway.Gateway, credentials read by reference on each call and a 401 re-reads
    them once."""

    def __init__(self, secret_ref: str | None) -> None:
        self.secret_ref = secret_ref

    def client(self) -> ContentApi:
        account_sid, auth_token = secret_store.gateway_credentials(self.secret_ref)
        return _content_api(account_sid, auth_token, get_settings().twilio_api_base)

    def create(self, *, name: str, language: str, body: str, variable_count: int) -> str:
        def request(api: ContentApi) -> str:
            return api.create(name=name, language=language, body=body,
                              variable_count=variable_count)

        return with_fresh_credentials(self.secret_ref, self.client, request)

    def submit(self, sid: str, *, name: str, category: str) -> Approval:
        def request(api: ContentApi) -> Approval:
            return api.submit(sid, name=name, category=category)

        return with_fresh_credentials(self.secret_ref, self.client, request)

    def approval(self, sid: str) -> Approval:
        def request(api: ContentApi) -> Approval:
            return api.approval(sid)

        return with_fresh_credentials(self.secret_ref, self.client, request)


def get_content_api(secret_ref: str | None = None) -> BrandContentApi:
    """The Content API with the stage's credentials, or a brand's own (`secret_ref`)."""
    return BrandContentApi(secret_ref)


@lru_cache(maxsize=16)
def _content_api(account_sid: str, auth_token: str, base_url: str | None) -> ContentApi:
    # Keyed by the credentials and settings: a rotated token or a changed base URL (tests, the
    # local stack) gets a fresh client.
    return ContentApi(account_sid, auth_token, base_url)
