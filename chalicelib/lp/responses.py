"""Answers of the compatible API and of the routes this feature adds, as pydantic models: the
OpenAPI document (chalicelib/api/openapi.py) publishes their schemas, the tests validate real
answers against them. Open models (extra fields allowed), as chalicelib/api/responses.py."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class LpError(Out):
    """Every 4xx of the compatible paths, in LivePerson's shape (an expired token: exactly
    {"code": 0, "message": "jwt expired"})."""

    code: int = Field(description="always 0, as LivePerson answers")
    message: str
    requestTraceId: str | None = Field(default=None, description="UUID of this request")
    fields: list[str] | None = Field(default=None, description="the request fields at fault")
    failedConsumers: list[dict[str, Any]] | None = Field(
        default=None, description="create, when no consumer was accepted: why each failed")


class LpToken(Out):
    access_token: str = Field(description="a signed JWT (HS256), valid one hour; claims aud "
                              "(account), azp (client id), scope, iss, iat, exp")
    token_type: str = Field(description="Bearer")


class LpAccepted(Out):
    id: str = Field(description="the consumer's id in this campaign (status and report)")
    phoneNumber: str = Field(description="E.164")
    consumerContent: dict[str, str]


class LpCampaignCreated(Out):
    proactiveCampaignId: str
    leCampaignId: str = Field(description="our campaign id (GET /campaigns/{campaign_id})")
    leEngagementId: str = Field(description="the skill id replies are routed to")
    requestTraceId: str
    acceptedConsumers: list[LpAccepted]
    failedConsumers: list[dict[str, Any]] = Field(
        description="each failed consumer's input, with phone, countryCode (ISO alpha-2) and "
        "errorMessage (INVALID_NUMBER, DUPLICATE_NUMBER, TOO_MANY_VARIABLES, ...)")


class LpConversation(Out):
    id: str
    status: str = Field(description="DELIVERED, NOT_SENT, SCHEDULED, SKIPPED or FAILED")
    conversationId: str | None
    errorMessage: str | None


class LpConversations(Out):
    campaignStatus: str = Field(description="DRAFT, SCHEDULED, IN_PROGRESS, FINISHED or "
                                "CANCELLED")
    conversations: list[LpConversation]


class LpPage(Out):
    count: int
    previousOffset: int
    currentOffset: int
    nextOffset: int = Field(description="-1: no further page")


class LpConsumerReport(Out):
    id: str
    consumerId: str
    status: str
    errorSource: str | None
    errorCode: str | None
    errorMessage: str | None


class LpCampaignReport(Out):
    requestMetadata: dict[str, Any]
    page: LpPage
    consumersReport: list[LpConsumerReport]


class LpAnalyticsItem(Out):
    channel: str
    skill: str
    transactionday: str | None
    attempted: int
    eligible: int
    skipped: int
    sent: int
    failed: int
    delivered: int
    read: int | None
    conversationscreated: int
    conversationsclosed: int | None
    csat: float | None


class LpAnalytics(Out):
    data: list[LpAnalyticsItem]


class ApiClient(Out):
    enabled: bool
    client_id: str | None
    created_at: str | None
    rotated_at: str | None
    revoked_at: str | None


class ApiClientCreated(ApiClient):
    client_secret: str = Field(description="shown only in this answer")
    note: str


class SmsTemplate(Out):
    id: str
    name: str
    text: str
    variable_count: int
    default: bool = Field(description="the brand's default SMS template (templateId "
                          "\"1234567890\" of the LivePerson-compatible API)")
    created_at: str | None
    created_by: str | None
    updated_at: str | None


class SmsTemplateDeleted(SmsTemplate):
    deleted: bool


class SmsTemplatePage(Out):
    items: list[SmsTemplate]
    next_cursor: str | None
    default_id: str | None
