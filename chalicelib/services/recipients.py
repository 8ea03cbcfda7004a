"""Recipient lists of a campaign: typed lists, CSV uploads (pre-signed S3 PUT, parsed by the
S3-triggered parse_upload function), previews, and paging through the stored lines.

Typed lists and CSV files share one parser (chalicelib/domain/recipients.py). A list with errors
is stored whole (accepted lines as the campaign's messages, rejected ones with their errors) and
the campaign cannot launch until a corrected list replaces it.
"""

from __future__ import annotations

import re
import time
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

import boto3
from botocore.config import Config

from chalicelib.api.content_schemas import ParseIn
from chalicelib.config import get_settings
from chalicelib.domain import content
from chalicelib.domain import recipients as lists
from chalicelib.domain.errors import Conflict, DomainError, field_error
from chalicelib.domain.ids import new_id
from chalicelib.logging import logger
from chalicelib.services import templates
from chalicelib.services.auth import Principal
from chalicelib.services.views import iso
from chalicelib.store import brands, campaigns, messages, recipient_lines
from chalicelib.store.models import BrandModel, CampaignModel, MessageModel, UploadAttribute

UPLOAD_URL_SECONDS = 900
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
UPLOAD_PREFIX = "uploads/"
_KEY = re.compile(r"^uploads/(?P<brand>[A-Za-z0-9_-]+)/(?P<campaign>[A-Za-z0-9_-]+)/"
                  r"(?P<upload>upl_[a-z0-9]+)\.csv$")
PROGRESS_EVERY = 10_000  # rows between progress updates on the campaign


# --- content of a list ------------------------------------------------------------------------

def _spec(channel: str, brand: BrandModel, *, text: str | None, template_id: str | None,
          allow_multi_segment: bool) -> lists.ListContent:
    body = ""
    if channel in ("whatsapp", "prioritized"):
        if not template_id:
            raise field_error("template_id", f"a {channel} list is checked against its template")
        body = templates.approved(brand.brand_id, template_id).body
    elif not (text and text.strip()):
        raise field_error("text", "an SMS list is checked against the campaign's text")
    return lists.ListContent(channel=channel, opt_out_text=brand.opt_out_text,
                             default_zone=brand.time_zone, text=text or "", body=body,
                             allow_multi_segment=allow_multi_segment)


def campaign_spec(campaign: CampaignModel, brand: BrandModel) -> lists.ListContent:
    return _spec(campaign.channel, brand, text=campaign.text, template_id=campaign.template_id,
                 allow_multi_segment=bool(campaign.allow_multi_segment))


def preview(principal: Principal, payload: ParseIn) -> dict[str, Any]:
    """Check a typed list or a small CSV without storing anything."""
    brand = brands.get_brand(principal.brand_id)
    spec = _spec(payload.channel, brand, text=payload.text, template_id=payload.template_id,
                 allow_multi_segment=payload.allow_multi_segment)
    parsed = lists.parse_list(payload.content, spec, lists.PREVIEW_MAX_ROWS, "preview")
    return {"lines": [r.to_dict() for r in parsed.results], "summary": parsed.summary()}


# --- storing ----------------------------------------------------------------------------------

def _draft(principal_brand: str, campaign_id: str) -> CampaignModel:
    campaign = campaigns.get(principal_brand, campaign_id)
    if campaign.status != "DRAFT":
        raise Conflict(f"recipients can only change while the campaign is DRAFT; it is "
                       f"{campaign.status}")
    return campaign


def set_typed(principal: Principal, campaign_id: str, body: str) -> dict[str, Any]:
    """Replace the campaign's recipients with a typed list (at most 100 lines)."""
    campaign = _draft(principal.brand_id, campaign_id)
    brand = brands.get_brand(principal.brand_id)
    parsed = lists.parse_list(body, campaign_spec(campaign, brand),
                              lists.TYPED_LIST_MAX_LINES, "typed")
    store(campaign, parsed.results, extra=[CampaignModel.upload.remove()])
    rejected = parsed.rejected
    return {
        "accepted": len(parsed.results) - len(rejected),
        "rejected": [{"line": r.line, "input": r.input, "errors": r.errors} for r in rejected],
        "preview": [r.to_dict() for r in parsed.results if r.ok][:100],
        "summary": parsed.summary(),
    }


def store(campaign: CampaignModel, results: list[lists.LineResult], *,
          upload_id: str | None = None, extra: list[Any] | None = None,
          progress: Any = None) -> tuple[int, int]:
    """Replace the stored list: accepted lines become PENDING messages, rejected lines are kept
    with their errors. The counts on the campaign block launch while any line is rejected."""
    now = time.time()
    cid = campaign.campaign_id
    recipient_lines.delete_all(cid)
    accepted = [
        recipient_lines.pending_message(
            cid, str(r.phone), brand_id=campaign.brand_id, skill=campaign.skill,
            channel=campaign.channel, line=r.line, text=r.text, variables=r.variables,
            fallback_text=r.fallback_text, zones=r.zones, country=r.country, now=now)
        for r in results if r.ok
    ]
    rejected = list(recipient_lines.error_items(
        cid, (r.to_dict() for r in results if not r.ok), upload_id))
    recipient_lines.put_all(rejected)
    recipient_lines.put_messages(accepted, progress)
    condition = CampaignModel.status == "DRAFT"
    if upload_id is not None:
        condition &= CampaignModel.upload.upload_id == upload_id
    campaigns.update(
        campaign,
        [CampaignModel.recipients_total.set(len(accepted)),
         CampaignModel.recipient_errors.set(len(rejected)),
         CampaignModel.updated_at.set(time.time()), *(extra or [])],
        condition,
        "the campaign left DRAFT (or got a newer list) while its recipients were being stored",
    )
    return len(accepted), len(rejected)


def has_list(campaign: CampaignModel) -> bool:
    """Whether the campaign holds a list (accepted or rejected lines) or an upload's state."""
    return bool(campaign.recipients_total or campaign.recipient_errors or campaign.upload)


def forget_actions() -> list[Any]:
    """The campaign's side of forgetting its list (with the write that makes it stale): no
    recipients, no errors, no upload; launch then asks for a list."""
    return [CampaignModel.recipients_total.set(0), CampaignModel.recipient_errors.set(0),
            CampaignModel.upload.remove()]


def delete_lines(campaign_id: str) -> None:
    """The stored lines of a list the campaign has forgotten (forget_actions, written first:
    the campaign never counts lines that are gone)."""
    recipient_lines.delete_all(campaign_id)


# --- pages of the stored list -----------------------------------------------------------------

def page(principal: Principal, campaign_id: str, errors: bool, limit: int,
         cursor: str | None) -> dict[str, Any]:
    campaigns.get(principal.brand_id, campaign_id)  # scope: 404 for another brand's campaign
    if errors:
        items, next_cursor = recipient_lines.page(campaign_id, limit, cursor)
        return {"items": items, "next_cursor": next_cursor}
    stored, next_cursor = messages.page(campaign_id, limit, cursor)
    return {"items": [line_view(m) for m in stored], "next_cursor": next_cursor}


def line_view(message: MessageModel) -> dict[str, Any]:
    """An accepted line as stored (a per-line result without errors)."""
    sms = message.fallback_text if message.channel == "prioritized" else (
        message.text if message.channel == "sms" else None)
    info = content.sms_info(sms) if sms else None
    view: dict[str, Any] = {
        "line": int(message.line or 0), "input": None, "phone": message.phone,
        "country": message.country, "zones": list(message.zones or []), "text": message.text,
        "encoding": info.encoding if info else None, "segments": info.segments if info else None,
        "characters": info.characters if info else None,
        "characters_left": content.SMS_SINGLE_LIMIT - info.characters if info else None,
        "errors": [],
    }
    if message.variables is not None:
        view["variables"] = list(message.variables)
    if message.fallback_text is not None:
        view["fallback_text"] = message.fallback_text
    return view


# --- CSV uploads ------------------------------------------------------------------------------

@lru_cache(maxsize=4)
def _s3(region: str, endpoint: str | None) -> Any:
    # Signature V4 for pre-signed URLs; keyed by the settings (tests change them).
    return boto3.session.Session().client(
        "s3", region_name=region, endpoint_url=endpoint,
        config=Config(signature_version="s3v4", retries={"max_attempts": 5, "mode": "standard"}))


def s3() -> Any:
    settings = get_settings()
    return _s3(settings.region, settings.aws_endpoint_url)


def upload_key(brand_id: str, campaign_id: str, upload_id: str) -> str:
    return f"{UPLOAD_PREFIX}{brand_id}/{campaign_id}/{upload_id}.csv"


def start_upload(principal: Principal, campaign_id: str) -> dict[str, Any]:
    """A pre-signed POST (an HTML form upload) for the campaign's CSV; the parse starts when the
    object lands. The form's policy fixes the key and type and bounds the size: S3 refuses a
    file over MAX_UPLOAD_BYTES before storing a byte (a pre-signed PUT cannot bound the size of
    a file whose size it does not know). The parse checks the size again (moto does not enforce
    the policy)."""
    campaign = _draft(principal.brand_id, campaign_id)
    now = time.time()
    upload_id = new_id("upl", now)
    key = upload_key(principal.brand_id, campaign_id, upload_id)
    fields = {"Content-Type": "text/csv"}
    form = s3().generate_presigned_post(
        get_settings().uploads_bucket, key, Fields=fields, ExpiresIn=UPLOAD_URL_SECONDS,
        Conditions=[fields, ["content-length-range", 1, MAX_UPLOAD_BYTES]])
    upload = UploadAttribute(upload_id=upload_id, key=key, status="WAITING", rows_done=0,
                             accepted=0, rejected=0, created_at=now, updated_at=now)
    campaigns.update(campaign, [CampaignModel.upload.set(upload),
                                CampaignModel.updated_at.set(now)],
                     CampaignModel.status == "DRAFT",
                     "the campaign left DRAFT meanwhile")
    # POST `fields` then the file (a form field named "file", last) to `url`
    return {"upload_id": upload_id, "url": form["url"], "method": "POST",
            "fields": form["fields"], "expires_at": iso(now + UPLOAD_URL_SECONDS),
            "max_rows": lists.CSV_MAX_ROWS, "max_bytes": MAX_UPLOAD_BYTES}


def handle_s3_event(event: dict[str, Any]) -> dict[str, Any]:
    """The parse_upload function: every ObjectCreated record of the uploads bucket."""
    outcomes = []
    for record in event.get("Records") or []:
        s3_part = record.get("s3") or {}
        bucket = (s3_part.get("bucket") or {}).get("name", "")
        key = unquote_plus((s3_part.get("object") or {}).get("key", ""))
        outcomes.append({"key": key, "status": process_upload(bucket, key)})
    return {"uploads": outcomes}


def process_upload(bucket: str, key: str) -> str:
    match = _KEY.match(key)
    if not match:
        logger.warning("object in the uploads bucket that is not an upload", extra={"key": key})
        return "IGNORED"
    brand_id, campaign_id, upload_id = match["brand"], match["campaign"], match["upload"]
    try:
        campaign = campaigns.get(brand_id, campaign_id)
    except DomainError:
        return "IGNORED"
    upload = campaign.upload
    if upload is None or upload.upload_id != upload_id:
        logger.info("superseded upload ignored", extra={"campaign_id": campaign_id})
        return "SUPERSEDED"
    if upload.status in ("DONE", "FAILED"):
        return str(upload.status)  # a repeated S3 notification
    try:
        if campaign.status != "DRAFT":
            raise Conflict(f"the campaign is {campaign.status}; recipients can only change "
                           "while it is DRAFT")
        _progress(campaign, upload_id, status="PARSING", rows_done=0)
        head = s3().head_object(Bucket=bucket, Key=key)
        if int(head.get("ContentLength", 0)) > MAX_UPLOAD_BYTES:
            raise DomainError(f"the file is {int(head['ContentLength']) / 1e6:.1f} MB; the "
                              f"limit is {MAX_UPLOAD_BYTES / 1e6:.0f} MB", code="FILE_TOO_LARGE")
        data = s3().get_object(Bucket=bucket, Key=key)["Body"].read()
        brand = brands.get_brand(brand_id)
        results = _parse(campaign, upload_id, data, campaign_spec(campaign, brand))
        accepted_count = sum(1 for r in results if r.ok)
        _progress(campaign, upload_id, rows_done=len(results), accepted=accepted_count,
                  rejected=len(results) - accepted_count)

        def stored(count: int) -> None:
            if count % PROGRESS_EVERY < recipient_lines.BATCH * recipient_lines.WRITERS:
                _progress(campaign, upload_id, stored=count)

        accepted, rejected = store(campaign, results, upload_id=upload_id, progress=stored,
                                   extra=_upload_actions(status="DONE", stored=accepted_count))
    except DomainError as error:
        if error.code == "SUPERSEDED":
            return "SUPERSEDED"
        logger.info("upload failed", extra={"campaign_id": campaign_id, "code": error.code})
        try:
            _progress(campaign, upload_id, status="FAILED", message=error.message)
        except DomainError:
            return "SUPERSEDED"
        return "FAILED"
    except Exception:
        # Not the file's fault (S3 or DynamoDB failed): Lambda retries the invocation, then
        # keeps it on the failed-invocations queue; the campaign shows the upload FAILED once
        # it made no progress for views.UPLOAD_STALL_SECONDS.
        logger.exception("upload parse crashed; left for Lambda's retry",
                         extra={"campaign_id": campaign_id, "upload_id": upload_id})
        raise
    logger.info("upload parsed", extra={"campaign_id": campaign_id, "accepted": accepted,
                                        "rejected": rejected})
    return "DONE"


def _parse(campaign: CampaignModel, upload_id: str, data: bytes,
           spec: lists.ListContent) -> list[lists.LineResult]:
    rows, _ = lists.read_list(lists.decode(data), lists.CSV_MAX_ROWS, "csv")
    if not rows:
        raise DomainError("the file has no recipients", code="EMPTY_LIST")
    results: list[lists.LineResult] = []
    seen: dict[str, int] = {}
    for start in range(0, len(rows), PROGRESS_EVERY * 2):
        results.extend(lists.parse_rows(rows[start:start + PROGRESS_EVERY * 2], spec, seen))
        _progress(campaign, upload_id, rows_done=len(results))
    return results


def _upload_actions(**changes: Any) -> list[Any]:
    actions = [CampaignModel.upload.updated_at.set(time.time())]  # type: ignore[attr-defined]
    for name, value in changes.items():
        path = getattr(CampaignModel.upload, name)
        actions.append(path.set(value))
    return actions


def _progress(campaign: CampaignModel, upload_id: str, **changes: Any) -> None:
    try:
        campaigns.update(campaign, _upload_actions(**changes),
                         CampaignModel.upload.upload_id == upload_id,  # type: ignore[arg-type]
                         "a newer upload replaced this one")
    except Conflict:
        raise DomainError("a newer upload replaced this one", code="SUPERSEDED") from None
