"""PynamoDB models. Keys, indexes and streams must match infra/resources/tables.yaml (a test
compares them); table names and the endpoint come from the stage's settings via bind_models()."""

from __future__ import annotations

import functools
from typing import Any

import pynamodb.connection.base
from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.connection import Connection
from pynamodb.indexes import (
    AllProjection,
    GlobalSecondaryIndex,
    IncludeProjection,
    KeysOnlyProjection,
)
from pynamodb.models import Model

from chalicelib import aws
from chalicelib.config import get_settings, on_reset

# pynamodb makes a botocore session per model connection and thread; each would parse the
# DynamoDB service description again (the cost of every Lambda cold start and of every test's
# fresh connections): they share one loader (chalicelib/aws.py).
setattr(pynamodb.connection.base, "get_session", aws.botocore_session)  # noqa: B010


class BrandModel(Model):
    class Meta:
        table_name = "BrandsTable"
        logical_id = "BrandsTable"

    brand_id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    time_zone = UnicodeAttribute(default="America/New_York")
    # How the web tool writes dates for the brand (BCP 47 language-region): MM/DD/YYYY for en-US.
    locale = UnicodeAttribute(default="en-US")
    opt_out_text = UnicodeAttribute(default="Reply STOP to opt out")
    help_text = UnicodeAttribute(default="Reply STOP to opt out.")
    window_start = UnicodeAttribute(default="08:00")
    window_end = UnicodeAttribute(default="21:00")
    lookback_days = NumberAttribute(default=30)
    default_skill = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    # --- administration ---
    updated_at = NumberAttribute(null=True)
    # API rate limit: requests per second and burst (set by ops at onboarding, not by admins).
    api_rate = NumberAttribute(null=True)
    api_burst = NumberAttribute(null=True)
    # Name of the SSM parameter (or Secrets Manager ARN) holding the brand's gateway credentials.
    gateway_secret_ref = UnicodeAttribute(null=True)
    # Whether a consumer's START/UNSTOP/YES lifts an opt-out an admin added. Unset
    # (brands older than the setting) reads as false.
    keyword_lifts_admin_optouts = BooleanAttribute(null=True, default=False)


class ApiKeyBrandIndex(GlobalSecondaryIndex["ApiKeyModel"]):
    class Meta:
        index_name = "brand-index"
        projection = AllProjection()

    brand_id = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ApiKeyModel(Model):
    class Meta:
        table_name = "ApiKeysTable"
        logical_id = "ApiKeysTable"

    key_hash = UnicodeAttribute(hash_key=True)
    brand_id = UnicodeAttribute()
    key_id = UnicodeAttribute()
    role = UnicodeAttribute()
    label = UnicodeAttribute(default="")
    created_at = UnicodeAttribute()  # ISO-8601 UTC, sorts by time
    revoked_at = NumberAttribute(null=True)
    last_used_at = NumberAttribute(null=True)
    brand_index = ApiKeyBrandIndex()


class SenderNumberBrandIndex(GlobalSecondaryIndex["SenderNumberModel"]):
    class Meta:
        index_name = "brand-index"
        projection = AllProjection()

    brand_id = UnicodeAttribute(hash_key=True)
    number = UnicodeAttribute(range_key=True)


class SenderNumberModel(Model):
    class Meta:
        table_name = "SenderNumbersTable"
        logical_id = "SenderNumbersTable"

    number = UnicodeAttribute(hash_key=True)
    brand_id = UnicodeAttribute()
    channel = UnicodeAttribute()  # sms | whatsapp
    kind = UnicodeAttribute(default="long_code")  # long_code | toll_free | short_code | whatsapp
    # Messages per second this sender may send; empty: the default of its kind (dispatch.py:
    # long_code 1/s, toll_free 3/s, short_code 100/s, whatsapp 80/s).
    rate = NumberAttribute(null=True)
    # The gateway answers STOP/START/HELP on this number itself (Twilio's Advanced Opt-Out, on by
    # default for US long codes and toll-free numbers): the service still records the opt-out or
    # opt-in but sends no confirmation of its own (a second one would annoy, or get 21610).
    gateway_answers_keywords = BooleanAttribute(default=False)
    brand_index = SenderNumberBrandIndex()


class SkillModel(Model):
    class Meta:
        table_name = "SkillsTable"
        logical_id = "SkillsTable"

    brand_id = UnicodeAttribute(hash_key=True)
    skill_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    retired = BooleanAttribute(default=False)


class ConsentAttribute(MapAttribute[str, Any]):
    by_key_id = UnicodeAttribute()
    by_label = UnicodeAttribute(default="")
    at = NumberAttribute()
    text = UnicodeAttribute()


class UploadAttribute(MapAttribute[str, Any]):
    """The campaign's latest CSV upload and how far its parse got (WAITING -> PARSING -> DONE |
    FAILED); the S3-triggered parser updates it."""

    upload_id = UnicodeAttribute()
    key = UnicodeAttribute()
    status = UnicodeAttribute(default="WAITING")
    rows_done = NumberAttribute(default=0)
    accepted = NumberAttribute(default=0)
    rejected = NumberAttribute(default=0)
    stored = NumberAttribute(default=0)  # accepted recipients written so far
    message = UnicodeAttribute(null=True)  # why FAILED
    created_at = NumberAttribute()
    updated_at = NumberAttribute(null=True)


class ListWriterAttribute(MapAttribute[str, Any]):
    """The one store allowed to write a campaign's list rows now (services/recipients.py): the
    list it writes and when its lease ends, once the function writing it can no longer run."""

    list_id = NumberAttribute()
    expires_at = NumberAttribute()


class CampaignLaunchIndex(GlobalSecondaryIndex["CampaignModel"]):
    class Meta:
        index_name = "launch-index"
        projection = KeysOnlyProjection()

    launch_shard = UnicodeAttribute(hash_key=True)
    launch_at = NumberAttribute(range_key=True)


class CampaignFanoutIndex(GlobalSecondaryIndex["CampaignModel"]):
    """Sparse: RUNNING campaigns whose launch fan-out was asked for and has not finished."""

    class Meta:
        index_name = "fanout-index"
        projection = KeysOnlyProjection()

    fanout_shard = UnicodeAttribute(hash_key=True)
    fanout_at = NumberAttribute(range_key=True)


class CampaignModel(Model):
    class Meta:
        table_name = "CampaignsTable"
        logical_id = "CampaignsTable"

    brand_id = UnicodeAttribute(hash_key=True)
    campaign_id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    channel = UnicodeAttribute()
    from_number = UnicodeAttribute()
    skill = UnicodeAttribute()
    text = UnicodeAttribute(null=True)
    template_id = UnicodeAttribute(null=True)
    allow_multi_segment = BooleanAttribute(default=False)
    # Skip consumers in an open conversation with the brand; None (stored before) = the default
    hold_open_conversations = BooleanAttribute(null=True)
    send_rate = NumberAttribute(default=1)
    window_start = UnicodeAttribute(default="08:00")
    window_end = UnicodeAttribute(default="21:00")
    launch_at = NumberAttribute(null=True)
    launch_shard = UnicodeAttribute(null=True)
    fallback_from_number = UnicodeAttribute(null=True)  # prioritized: the SMS fallback's sender
    status = UnicodeAttribute(default="DRAFT")
    recipients_total = NumberAttribute(default=0)
    recipient_errors = NumberAttribute(default=0)
    # The campaign's list: every stored line (message or rejected line) carries the id of the
    # list it belongs to; the counts above, the pages and launch are about this list only.
    list_id = NumberAttribute(default=0)
    list_writer = ListWriterAttribute(null=True)  # a list is being stored
    # Signed message.* events of this campaign (services/webhooks_out.py).
    status_callback_url = UnicodeAttribute(null=True)
    status_callback_secret = UnicodeAttribute(null=True)
    consent = ConsentAttribute(null=True)
    upload = UploadAttribute(null=True)
    created_by = UnicodeAttribute(default="")
    created_at = NumberAttribute()
    updated_at = NumberAttribute(null=True)
    launched_at = NumberAttribute(null=True)
    cancelled_at = NumberAttribute(null=True)
    # Set with RUNNING, removed when the launch job finished its fan-out.
    fanout_shard = UnicodeAttribute(null=True)
    fanout_at = NumberAttribute(null=True)  # when the fan-out was last asked for
    launch_index = CampaignLaunchIndex()
    fanout_index = CampaignFanoutIndex()


class MessageDueIndex(GlobalSecondaryIndex["MessageModel"]):
    class Meta:
        index_name = "due-index"
        projection = IncludeProjection(["brand_id", "status"])

    due_shard = UnicodeAttribute(hash_key=True)
    due_at = NumberAttribute(range_key=True)


class MessagePhoneIndex(GlobalSecondaryIndex["MessageModel"]):
    """Sparse (sent messages only): the latest message sent to a consumer, for their reply."""

    class Meta:
        index_name = "phone-index"
        projection = IncludeProjection(["brand_id", "status", "skill", "text", "sid", "channel",
                                        "sent_channel"])

    phone = UnicodeAttribute(hash_key=True)
    sent_at = NumberAttribute(range_key=True)


class MessageSidIndex(GlobalSecondaryIndex["MessageModel"]):
    """Sparse (sent messages only): the message a gateway status callback is about."""

    class Meta:
        index_name = "sid-index"
        projection = KeysOnlyProjection()

    sid = UnicodeAttribute(hash_key=True)


class MessageModel(Model):
    """One recipient of one campaign and the message to them: (campaign_id, phone) is unique,
    which is what makes "never twice to the same recipient of one campaign" enforceable."""

    class Meta:
        table_name = "MessagesTable"
        logical_id = "MessagesTable"
        stream_view_type = "NEW_AND_OLD_IMAGES"

    campaign_id = UnicodeAttribute(hash_key=True)
    phone = UnicodeAttribute(range_key=True)
    brand_id = UnicodeAttribute()
    skill = UnicodeAttribute()
    channel = UnicodeAttribute()
    line = NumberAttribute(default=0)
    list_id = NumberAttribute(null=True)  # the campaign's list this recipient belongs to
    text = UnicodeAttribute(null=True)
    fallback_text = UnicodeAttribute(null=True)  # prioritized: the SMS sent when not on WhatsApp
    variables = ListAttribute[str](of=UnicodeAttribute, null=True)  # type: ignore[arg-type]
    zones = ListAttribute[str](of=UnicodeAttribute, null=True)  # type: ignore[arg-type]
    country = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="PENDING")
    reason = UnicodeAttribute(null=True)  # why SKIPPED / FAILED, in words
    error_code = UnicodeAttribute(null=True)
    due_at = NumberAttribute(null=True)
    due_shard = UnicodeAttribute(null=True)
    attempt_id = UnicodeAttribute(null=True)
    # While SENDING the message stays on the due-index with due_at = claim_expires, so the
    # release schedule finds expired claims (ambiguous outcomes) and reconciles them.
    claimed_at = NumberAttribute(null=True)
    claim_expires = NumberAttribute(null=True)
    attempts = NumberAttribute(default=0)
    sid = UnicodeAttribute(null=True)
    sent_channel = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    updated_at = NumberAttribute(null=True)
    queued_at = NumberAttribute(null=True)
    sent_at = NumberAttribute(null=True)
    delivered_at = NumberAttribute(null=True)
    responded_at = NumberAttribute(null=True)
    # The consumer opted out after receiving this message (analytics: opt-outs / received).
    opted_out_at = NumberAttribute(null=True)
    external_id = UnicodeAttribute(null=True)  # the integrator's id (JSON recipients)
    due_index = MessageDueIndex()
    phone_index = MessagePhoneIndex()
    sid_index = MessageSidIndex()


class OptOutModel(Model):
    class Meta:
        table_name = "OptOutsTable"
        logical_id = "OptOutsTable"

    brand_id = UnicodeAttribute(hash_key=True)
    phone = UnicodeAttribute(range_key=True)
    source = UnicodeAttribute(default="keyword")  # keyword | admin | gateway
    keyword = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    # Who or what recorded it: the API key's label (admin), the number the STOP was sent to
    # (keyword), the campaign it answered (keyword, within the look-back period).
    by = UnicodeAttribute(null=True)
    number = UnicodeAttribute(null=True)
    campaign_id = UnicodeAttribute(null=True)


class MetricModel(Model):
    """Counters: attributes other than the keys are counts, added to atomically."""

    class Meta:
        table_name = "MetricsTable"
        logical_id = "MetricsTable"

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    expires_at = NumberAttribute(null=True)


class LimitModel(Model):
    """A rate limiter's state: the earliest instant the next send may start."""

    class Meta:
        table_name = "LimitsTable"
        logical_id = "LimitsTable"

    key = UnicodeAttribute(hash_key=True)
    next_at = NumberAttribute(default=0)


ALL_MODELS: list[type[Model]] = []


def register(model: type[Model]) -> type[Model]:
    """Bind a model to the stage's tables now and whenever settings change (bind_models).

    Every model has Meta.logical_id, the resource name in infra/resources/*.yaml; its table name
    comes from the environment variable of the same name in UPPER_SNAKE case (MessagesTable ->
    MESSAGES_TABLE), which the template sets with Ref.
    """
    if model not in ALL_MODELS:
        ALL_MODELS.append(model)
    _bind(model)
    return model


def _bind(model: type[Model]) -> None:
    settings = get_settings()
    meta: Any = model.Meta
    meta.table_name = settings.table_name(meta.logical_id)
    meta.region = settings.region
    meta.host = settings.aws_endpoint_url
    meta.max_retry_attempts = 5
    # One client per model serves every thread of the process; a send batch runs up to 100
    # threads, and past the pool each request opened a connection of its own (pynamodb's
    # default pool is 10).
    meta.max_pool_connections = POOL_CONNECTIONS
    model._connection = None  # rebuilt lazily with the new settings


POOL_CONNECTIONS = 100


@functools.cache
def transaction_connection() -> Connection:
    """The connection transactions are written through (pynamodb's TransactWrite takes one):
    one per process, like the models' own, instead of a new botocore client per transaction."""
    settings = get_settings()
    return Connection(region=settings.region, host=settings.aws_endpoint_url,
                      max_pool_connections=POOL_CONNECTIONS, max_retry_attempts=5)


def bind_models() -> None:
    transaction_connection.cache_clear()
    for model in ALL_MODELS:
        _bind(model)


on_reset(bind_models)


for _model in (BrandModel, ApiKeyModel, SenderNumberModel, SkillModel, CampaignModel,
               MessageModel, OptOutModel, MetricModel, LimitModel):
    register(_model)
