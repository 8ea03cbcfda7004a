"""Response bodies of the API as pydantic models. They document (chalicelib/api/openapi.py puts
their JSON schemas in /openapi.json) and the contract test (tests/contract) checks that real
answers validate against them; the services still build plain dicts (services/views.py).

Models are open (extra fields allowed): a field added to a view is not a breaking change for
integrators, while every field listed here must keep its name and type.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.integration_inputs import EventType

CampaignStatus = Literal["DRAFT", "SCHEDULED", "RUNNING", "COMPLETED", "CANCELLED"]
MessageStatus = Literal["PENDING", "SCHEDULED", "QUEUED", "SENDING", "SENT", "DELIVERED",
                        "UNDELIVERED", "FAILED", "SKIPPED", "RESPONDED"]
Timestamp = str  # ISO-8601 UTC, e.g. 2026-12-01T14:00:00.123456Z


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- errors -----------------------------------------------------------------------------------

class ErrorDetail(Out):
    field: str = Field(description="the request part at fault, e.g. schedule.send_rate, limit")
    message: str


class ErrorBody(Out):
    code: str = Field(description="stable machine code, e.g. VALIDATION_ERROR, NOT_FOUND")
    message: str = Field(description="for people; may change")
    details: list[ErrorDetail] | None = Field(
        default=None, description="one entry per bad field (validation errors)")


class Error(Out):
    """Every 4xx answer of the API (chalicelib/api/errors.py)."""

    error: ErrorBody


# --- campaigns --------------------------------------------------------------------------------

class WindowOut(Out):
    start: str = Field(description="HH:MM, the recipient's local time")
    end: str


class ScheduleOut(Out):
    send_rate: float
    window: WindowOut
    launch_at: Timestamp | None
    hold_open_conversations: bool = Field(
        description="recipients in an open conversation with the brand are skipped")


class ConsentOut(Out):
    by_key_id: str | None
    by_label: str | None
    at: Timestamp | None
    text: str | None


class UploadOut(Out):
    upload_id: str
    status: str = Field(description="WAITING, PARSING, DONE or FAILED")
    rows_done: int
    accepted: int
    rejected: int
    stored: int
    message: str | None
    updated_at: Timestamp | None


class Campaign(Out):
    id: str
    name: str
    channel: Literal["sms", "whatsapp", "prioritized"]
    from_number: str
    skill: str
    text: str | None
    template_id: str | None
    fallback_from_number: str | None
    allow_multi_segment: bool
    status: CampaignStatus
    schedule: ScheduleOut
    recipients: int = Field(description="accepted recipients stored")
    recipient_errors: int
    created_at: Timestamp | None
    created_by: str | None
    updated_at: Timestamp | None
    launched_at: Timestamp | None
    cancelled_at: Timestamp | None
    consent: ConsentOut | None
    status_callback_url: str | None = Field(None, description="see CampaignIn")
    upload: UploadOut | None
    counts: dict[str, int] | None = Field(default=None,
                                          description="recipients per message status")


class CampaignPatched(Campaign):
    recipients_cleared: bool = Field(description="the change forgot the stored recipient list")


class CampaignPage(Out):
    items: list[Campaign]
    next_cursor: str | None = Field(description="opaque; pass as `cursor` for the next page")


class Message(Out):
    phone: str
    line: int
    status: MessageStatus
    text: str | None
    country: str | None
    zones: list[str]
    error_code: str | None
    reason: str | None
    sid: str | None
    attempts: int
    due_at: Timestamp | None
    queued_at: Timestamp | None
    sent_at: Timestamp | None
    delivered_at: Timestamp | None
    responded_at: Timestamp | None
    updated_at: Timestamp | None
    external_id: str | None = Field(None, description="the integrator's id of the recipient")


class MessagePage(Out):
    items: list[Message]
    next_cursor: str | None


# --- recipients -------------------------------------------------------------------------------

class LineError(Out):
    code: str = Field(description="e.g. INVALID_NUMBER, DUPLICATE, MISSING_VARIABLE")
    message: str


class RecipientLine(Out):
    line: int
    input: str | None
    phone: str | None
    country: str | None
    zones: list[str]
    text: str | None
    encoding: str | None
    segments: int | None
    characters: int | None
    characters_left: int | None
    errors: list[LineError]


class RejectedLine(Out):
    line: int
    input: str | None
    errors: list[LineError]


class ListSummary(Out):
    total: int
    valid: int
    invalid: int
    header: list[str] | None


class RecipientsStored(Out):
    """Also, for JSON recipients (appended): recipients, the list's size after the append."""

    accepted: int
    rejected: list[RejectedLine]
    preview: list[RecipientLine]
    summary: ListSummary


class RecipientPage(Out):
    items: list[RecipientLine]
    next_cursor: str | None


class ParseResult(Out):
    lines: list[RecipientLine]
    summary: ListSummary


class UploadLink(Out):
    upload_id: str
    url: str = Field(description="the bucket's URL: POST a form with every field, then the CSV "
                                 "as `file` (last); the signed policy bounds it to max_bytes")
    method: Literal["POST"]
    fields: dict[str, str]
    expires_at: Timestamp
    max_rows: int
    max_bytes: int


# --- templates --------------------------------------------------------------------------------

class Template(Out):
    id: str
    name: str
    language: str
    category: str
    body: str
    variable_count: int
    status: str = Field(description="DRAFT, PENDING, APPROVED, REJECTED, PAUSED or DISABLED")
    reason: str | None
    content_sid: str | None
    created_at: Timestamp | None
    created_by: str | None
    submitted_at: Timestamp | None
    updated_at: Timestamp | None
    archived_at: Timestamp | None = Field(
        default=None, description="set while archived: out of the wizard's list")


class TemplatePage(Out):
    items: list[Template]
    next_cursor: str | None


class TemplateDeleted(Out):
    deleted: str


# --- administration ---------------------------------------------------------------------------

class ApiLimit(Out):
    rate: float = Field(description="requests per second")
    burst: int


class Brand(Out):
    brand_id: str
    name: str
    time_zone: str
    window: WindowOut
    opt_out_text: str
    locale: str = Field(description="how dates are written for the brand, e.g. en-US")
    keyword_lifts_admin_optouts: bool
    help_text: str | None
    lookback_days: int
    default_skill: str | None
    api_limit: ApiLimit
    created_at: Timestamp | None
    updated_at: Timestamp | None


class SenderNumber(Out):
    number: str
    channel: Literal["sms", "whatsapp"]
    kind: str
    rate: float
    gateway_answers_keywords: bool


class SenderNumberList(Out):
    items: list[SenderNumber]


class NumberRemoved(Out):
    removed: str


class Skill(Out):
    id: str
    name: str
    retired: bool


class SkillList(Out):
    items: list[Skill]


class ApiKey(Out):
    id: str
    role: Literal["admin", "campaign_manager", "agent", "agent_manager"]
    label: str | None
    created_at: Timestamp | None
    last_used_at: Timestamp | None
    revoked_at: Timestamp | None
    active: bool


class ApiKeyCreated(ApiKey):
    secret: str = Field(description="shown only in this answer")
    note: str | None = None


class ApiKeyList(Out):
    items: list[ApiKey]


class AuditActor(Out):
    key_id: str | None
    label: str | None
    role: str | None


class AuditEntry(Out):
    id: str
    at: Timestamp
    actor: AuditActor
    action: str = Field(description="e.g. key.create, number.update")
    target: str | None
    before: dict[str, object] | None
    after: dict[str, object] | None


class AuditPage(Out):
    items: list[AuditEntry]
    next_cursor: str | None


# --- opt-outs and conversations ---------------------------------------------------------------

class OptOut(Out):
    phone: str
    source: str = Field(description="keyword, admin, ...")
    keyword: str | None
    number: str | None
    campaign_id: str | None
    by: str | None
    created_at: Timestamp | None


class OptOutPage(Out):
    items: list[OptOut]
    next_cursor: str | None


class OptedIn(Out):
    phone: str
    opted_out: Literal[False]


class ConversationSummary(Out):
    id: str
    phone: str
    skill: str | None
    campaign_id: str | None
    channel: str | None
    status: Literal["open", "closed"]
    last_text: str | None
    created_at: Timestamp | None
    updated_at: Timestamp | None


class ConversationPage(Out):
    items: list[ConversationSummary]
    next_cursor: str | None


class TranscriptEntry(Out):
    at: Timestamp | None
    author: str = Field(description="outbound, consumer or agent")
    text: str | None
    sid: str | None
    campaign_id: str | None
    by: str | None


class Conversation(ConversationSummary):
    brand_id: str
    campaign_name: str | None
    brand_number: str | None
    context: TranscriptEntry | None
    transcript: list[TranscriptEntry]
    closed_at: Timestamp | None
    closed_by: str | None


# --- analytics --------------------------------------------------------------------------------

class RangeOut(Out):
    from_: str = Field(alias="from", description="YYYY-MM-DD in the brand's time zone")
    to: str
    time_zone: str
    granularity: Literal["hour", "day", "month"] = Field(
        description="of the series: hours for one day, days up to 92 days, months beyond")
    name: str | None = Field(default=None, description="the quick range asked for, if any")


class Totals(Out):
    sent: int
    delivered_gateway: int
    delivered: int
    failed: int
    responded: int
    opted_out: int


class Rates(Out):
    success_rate: float | None
    delivery_rate: float | None
    response_rate: float | None
    opt_out_rate: float | None


class SeriesPoint(Out):
    start: str
    sent: int
    delivered: int
    failed: int
    responded: int
    opted_out: int


class Analytics(Out):
    range: RangeOut
    totals: Totals
    rates: Rates
    not_reported: list[str] = Field(
        description="figures no delivery report supports yet (shown as 'not reported', not 0)")
    delivery_status: dict[str, int]
    response_status: dict[str, int]
    consumer_delivery: dict[str, int] = Field(
        description="extra: delivery to the consumer, by delivery report")
    series: list[SeriesPoint]


class Summary(Out):
    range: RangeOut
    totals: Totals
    rates: Rates
    campaigns: dict[str, int] = Field(description="total and the count per campaign status")


class ExportLink(Out):
    """A large export: a pre-signed download link instead of the CSV itself."""

    url: str
    method: Literal["GET"]
    filename: str
    rows: int
    bytes: int
    expires_at: Timestamp


# --- service ----------------------------------------------------------------------------------

class ServiceIndex(Out):
    service: str
    openapi: str
    docs: str
    health: str
    web_tool: str


class Health(Out):
    ok: bool
    stage: str


class OpenApiDocument(Out):
    openapi: str
    info: dict[str, object]
    paths: dict[str, object]


# --- events to the brand's systems: endpoints and failed deliveries -------------------------------

class Endpoint(Out):
    id: str
    url: str
    events: list[EventType]
    description: str | None
    created_at: str
    created_by: str | None


class EndpointCreated(Endpoint):
    secret: str = Field(description="signs every delivery (X-Proactive-Signature); shown once")


class EndpointList(Out):
    items: list[Endpoint]


class EndpointDeleted(Endpoint):
    deleted: bool


class EventOut(Out):
    id: str = Field(description="the same for a repeated delivery of one event: dedupe on it")
    type: EventType
    created_at: str
    brand_id: str
    data: dict[str, Any]


class FailedDelivery(Out):
    id: str
    url: str
    target: dict[str, str] = Field(description="endpoint_id, or campaign_id (status callback)")
    event: EventOut
    attempts: int
    first_at: str
    failed_at: str
    last_error: str


class FailedDeliveryPage(Out):
    items: list[FailedDelivery]
    next_cursor: str | None


class Redelivered(FailedDelivery):
    redelivered: bool
