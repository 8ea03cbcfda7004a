"""Settings of the running stage, read from environment variables.

On AWS the packaged template sets them (infra/resources/*.yaml, Globals); the local stack sets the
same names pointing at moto server and the sandbox gateway. Nothing else reads os.environ.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


@dataclass(frozen=True)
class Settings:
    stage: str
    region: str
    aws_endpoint_url: str | None
    send_queue_url: str
    control_queue_url: str
    uploads_bucket: str
    # How far ahead scheduled messages are put on SQS with DelaySeconds (<= 900).
    release_horizon_seconds: int
    twilio_account_sid: str
    twilio_auth_token: str
    twilio_api_base: str | None
    public_base_url: str
    # --- administration and secrets ---
    # Names of the SSM parameters (SecureString) or Secrets Manager ARNs holding secrets; the
    # functions read them at run time (chalicelib/secret_store.py), never from plain variables.
    twilio_auth_token_param: str = ""
    # The key of the pagination cursors (store/paging.py): a secret the template generates.
    cursor_key_param: str = ""
    # Default API rate limit of a brand (requests/s and burst) unless the brand has its own.
    api_rate_default: float = 10.0
    api_burst_default: int = 20
    # How long a send request may take before its outcome counts as ambiguous (reconciled later).
    gateway_timeout_seconds: float = 10.0
    # How long a consumer's claim on a message lasts; a SENDING message whose claim expired is
    # reconciled with the gateway. Above the send consumer's Lambda timeout (30 s).
    claim_lease_seconds: float = 60.0
    # Slack in the send-slot spacing for a send reaching the gateway late (busy CPU, network
    # jitter) without two sends landing in the same rate interval (dispatch.slot_interval).
    send_rate_margin_seconds: float = 0.05
    # --- no lost work, bounded retries (docs/guarantees.md) ---
    # A message's send attempts (claims that were not given back untouched) before it ends
    # FAILED with RETRIES_EXHAUSTED: transient errors, ambiguous answers the gateway turned out
    # not to have, crashed consumers all count.
    max_send_attempts: int = 5
    # A RUNNING campaign whose launch fan-out has not finished this long after it was asked for
    # (the control-queue message was lost, or the job stopped half-way) is asked for again by the
    # release schedule; the fan-out is idempotent.
    fanout_grace_seconds: float = 300.0

    @property
    def send_queue_name(self) -> str:
        return send_queue_name(self.stage)

    @staticmethod
    def table_name(logical_id: str) -> str:
        """A table's name from the variable the template sets (MessagesTable -> MESSAGES_TABLE)."""
        return _env(env_name(logical_id), logical_id)

    @property
    def metrics_table(self) -> str:
        return self.table_name("MetricsTable")

    @property
    def limits_table(self) -> str:
        return self.table_name("LimitsTable")

    # --- inbound: read when used, like table_name ---
    @property
    def webhook_base_url(self) -> str:
        """The configured public URL of our webhooks, up to the path (stage path or custom domain
        included): WEBHOOK_BASE_URL, else PUBLIC_BASE_URL (the template's PublicBaseUrl
        parameter, empty by default), else API_BASE_URL (the deployed API's stage URL, which the
        template gives the send consumer for status callbacks). Empty in the API function on
        AWS: webhooks are then checked on the URL of the request (messaging/webhooks.py)."""
        return (_env("WEBHOOK_BASE_URL") or self.public_base_url
                or _env("API_BASE_URL")).rstrip("/")

    @property
    def event_bus_name(self) -> str:
        return _env("EVENT_BUS_NAME")

    # --- events to brands' systems ---
    @property
    def webhook_queue_url(self) -> str:
        return _env("WEBHOOK_QUEUE_URL")

    @property
    def webhook_retry_base_seconds(self) -> float:
        """The first retry's delay; each next one doubles (at most 15 minutes)."""
        return float(_env("WEBHOOK_RETRY_BASE_SECONDS", "30"))

    @property
    def webhook_retry_window_seconds(self) -> float:
        """How long a failing delivery is retried before it is kept as a dead letter."""
        return float(_env("WEBHOOK_RETRY_WINDOW_SECONDS", str(24 * 3600)))

    @property
    def inbound_queue_url(self) -> str:
        """Inbound webhooks that could not be applied at once wait here."""
        return _env("INBOUND_QUEUE_URL")


def env_name(logical_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", logical_id).upper()


def send_queue_name(stage: str | None = None) -> str:
    return f"proactive-{stage or _env('PROACTIVE_STAGE', 'dev')}-send"


def control_queue_name(stage: str | None = None) -> str:
    return f"proactive-{stage or _env('PROACTIVE_STAGE', 'dev')}-control"


def inbound_queue_name(stage: str | None = None) -> str:
    return f"proactive-{stage or _env('PROACTIVE_STAGE', 'dev')}-inbound"


def webhook_queue_name(stage: str | None = None) -> str:
    return f"proactive-{stage or _env('PROACTIVE_STAGE', 'dev')}-webhooks"


def messages_stream_arn() -> str:
    # Replaced by Fn::GetAtt [MessagesTable, StreamArn] in the packaged template.
    return _env(
        "MESSAGES_STREAM_ARN",
        "arn:aws:dynamodb:us-east-1:000000000000:table/MessagesTable/stream/placeholder",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    horizon = int(_env("RELEASE_HORIZON_SECONDS", "900"))
    return Settings(
        stage=_env("PROACTIVE_STAGE", "dev"),
        region=_env("AWS_REGION", _env("AWS_DEFAULT_REGION", "us-east-1")),
        aws_endpoint_url=_env("AWS_ENDPOINT_URL") or None,
        send_queue_url=_env("SEND_QUEUE_URL"),
        control_queue_url=_env("CONTROL_QUEUE_URL"),
        uploads_bucket=_env("UPLOADS_BUCKET"),
        release_horizon_seconds=max(0, min(900, horizon)),
        twilio_account_sid=_env("TWILIO_ACCOUNT_SID", "AC00000000000000000000000000000000"),
        twilio_auth_token=_env("TWILIO_AUTH_TOKEN"),
        twilio_api_base=_env("TWILIO_API_BASE") or None,
        public_base_url=_env("PUBLIC_BASE_URL").rstrip("/"),
        twilio_auth_token_param=_env("TWILIO_AUTH_TOKEN_PARAM"),
        cursor_key_param=_env("CURSOR_KEY_PARAM"),
        api_rate_default=float(_env("API_RATE_DEFAULT", "10")),
        api_burst_default=int(_env("API_BURST_DEFAULT", "20")),
        gateway_timeout_seconds=float(_env("GATEWAY_TIMEOUT_SECONDS", "10")),
        claim_lease_seconds=float(_env("CLAIM_LEASE_SECONDS", "60")),
        send_rate_margin_seconds=float(_env("SEND_RATE_MARGIN_SECONDS", "0.05")),
        max_send_attempts=max(1, int(_env("MAX_SEND_ATTEMPTS", "5"))),
        fanout_grace_seconds=float(_env("FANOUT_GRACE_SECONDS", "300")),
    )


# Caches derived from the settings (clients, model bindings, cached reads) register how to forget
# themselves here when their module is imported; this module imports none of them, so no module
# that reads the settings is imported by it (no import cycle).
_RESETS: list[Callable[[], None]] = []


def on_reset(forget: Callable[[], None]) -> Callable[[], None]:
    """Call `forget` whenever the settings are reset (usable as a decorator)."""
    if forget not in _RESETS:
        _RESETS.append(forget)
    return forget


def reset_settings() -> None:
    """Forget cached settings and everything registered with on_reset (tests and the local stack
    change the environment)."""
    get_settings.cache_clear()
    for forget in list(_RESETS):
        forget()
