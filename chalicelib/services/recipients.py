"""Recipient lists of a campaign: typed lists, CSV uploads (pre-signed S3 PUT, parsed by the
S3-triggered parse_upload function), previews, and paging through the stored lines.

Typed lists and CSV files share one parser (chalicelib/domain/recipients.py). A list with errors
is stored whole (accepted lines as the campaign's messages, rejected ones with their errors) and
the campaign cannot launch until a corrected list replaces it.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any
from urllib.parse import unquote_plus

from chalicelib import aws
from chalicelib.config import get_settings
from chalicelib.domain import content
from chalicelib.domain import recipients as lists
from chalicelib.domain.content_inputs import ParseIn
from chalicelib.domain.errors import (
    Conflict,
    DomainError,
    Unprocessable,
    ValidationFailed,
    field_error,
)
from chalicelib.domain.ids import new_id
from chalicelib.domain.inputs import read_object, validate
from chalicelib.domain.integration_inputs import MAX_JSON_RECIPIENTS, RecipientsIn
from chalicelib.logs import logger
from chalicelib.services import templates
from chalicelib.services.auth import Principal
from chalicelib.services.views import iso
from chalicelib.store import brands, bulk, campaigns, messages, recipient_lines
from chalicelib.store.bulk import KeepGoing
from chalicelib.store.models import (
    BrandModel,
    CampaignModel,
    MessageModel,
)

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
    # The typed list replaces any upload at once: a file landing later is superseded.
    store(campaign, parsed.results, drop_upload=True, lease=TYPED_LEASE_SECONDS,
          wait=TYPED_WAIT_SECONDS)
    rejected = parsed.rejected
    return {
        "accepted": len(parsed.results) - len(rejected),
        "rejected": [{"line": r.line, "input": r.input, "errors": r.errors} for r in rejected],
        "preview": [r.to_dict() for r in parsed.results if r.ok][:100],
        "summary": parsed.summary(),
    }


# A replaced list is replaced, whatever the timing. Each list a campaign is given gets the next
# list id (`claim`); every line stored carries it, and the campaign's counts, its pages and launch
# take the lines of the campaign's list_id only. Lines are written by one store at a time, the
# holder of the campaign's `list_writer` slot: lines are keyed (campaign, phone) or (campaign,
# line), so two stores writing at once could overwrite each other's lines. A newer list takes
# the list id at once (the older store's lines are nobody's list from then on) and the slot
# when the older store has stopped: that store asks between chunks whether its list is still
# the campaign's, stops, waits for the chunks it had sent, and only then gives the slot up. A
# store that dies cannot give it up: the slot's lease ends when the function writing can no
# longer run (Lambda's timeout). Launch needs the slot free and the list it read unchanged.
TYPED_LEASE_SECONDS = 60.0  # the API function's timeout is 30 s (.chalice/config.json)
UPLOAD_LEASE_SECONDS = 960.0  # parse_upload's is 900 s
TYPED_WAIT_SECONDS = 10.0  # for an older store to stop (it notices within CHECK_EVERY_SECONDS)
UPLOAD_WAIT_SECONDS = 120.0
CHECK_EVERY_SECONDS = 0.2
STILL_STORING = ("an earlier recipient list of this campaign is still being stored and has not "
                 "stopped yet (a store that died stops holding the campaign within "
                 f"{UPLOAD_LEASE_SECONDS / 60:.0f} minutes); give the list again in a few minutes")
REPLACED = "a newer recipient list replaced this one while it was being stored"


def store(campaign: CampaignModel, results: list[lists.LineResult], *,
          upload_id: str | None = None, drop_upload: bool = False,
          upload_done: dict[str, Any] | None = None, progress: Any = None,
          lease: float = UPLOAD_LEASE_SECONDS, wait: float = UPLOAD_WAIT_SECONDS
          ) -> tuple[int, int]:
    """Replace the stored list: accepted lines become PENDING messages, rejected lines are kept
    with their errors. The counts on the campaign block launch while any line is rejected.

    Raises Conflict (code SUPERSEDED) when a newer list replaced this one meanwhile."""
    now = time.time()
    cid = campaign.campaign_id
    list_id = claim(campaign, upload_id, drop_upload, lease, wait)
    try:
        # other lists' lines; none is this list's yet
        recipient_lines.delete_all(cid)
        messages.delete_campaign_messages(cid)
        accepted = [
            messages.pending_message(
                cid, str(r.phone), brand_id=campaign.brand_id, skill=campaign.skill,
                channel=campaign.channel, line=r.line, text=r.text, variables=r.variables,
                fallback_text=r.fallback_text, zones=r.zones, country=r.country, now=now,
                list_id=list_id)
            for r in results if r.ok
        ]
        rejected = list(recipient_lines.error_items(
            cid, (r.to_dict() for r in results if not r.ok), upload_id, list_id))
        current = _still_current(campaign, list_id, upload_id)
        if not (recipient_lines.put_all(rejected, keep_going=current)
                and messages.put_pending(accepted, progress, keep_going=current)):
            raise Conflict(REPLACED, code="SUPERSEDED")
        campaigns.finish_list(campaign, list_id, time.time(), accepted=len(accepted),
                              rejected=len(rejected), upload_id=upload_id,
                              upload_done=upload_done, conflict=REPLACED)
    except Conflict as error:
        release(campaign, list_id)
        if error.code != "CONFLICT":
            raise
        fresh = campaigns.get(campaign.brand_id, campaign.campaign_id)
        if fresh.status != "DRAFT":
            raise Conflict(f"the campaign is {fresh.status}; recipients can only change while "
                           "it is DRAFT") from None
        raise Conflict(REPLACED, code="SUPERSEDED") from None
    except BaseException:
        release(campaign, list_id)
        raise
    return len(accepted), len(rejected)


def claim(campaign: CampaignModel, upload_id: str | None, drop_upload: bool, lease: float,
          wait: float) -> int:
    """Make a new list the campaign's list (no recipients yet) and take the writer slot once
    an older store has stopped; the new list's id."""
    list_id = campaigns.new_list(
        campaign, time.time(), upload_id=upload_id, drop_upload=drop_upload,
        conflict=REPLACED if upload_id else "the campaign left DRAFT meanwhile; recipients can "
        "only change while it is DRAFT")
    if not take_slot(campaign, list_id, lease, wait):
        raise Conflict(STILL_STORING, code="LIST_BEING_STORED")
    return list_id


def take_slot(campaign: CampaignModel, list_id: int, lease: float, wait: float) -> bool:
    """The writer slot for the campaign's list `list_id`, waiting up to `wait` seconds for an
    older store to give it up. False: still held; Conflict SUPERSEDED: a newer list came."""
    deadline = time.time() + wait
    while True:
        if campaigns.take_list_writer(campaign, list_id, time.time(), lease):
            return True
        fresh = campaigns.get(campaign.brand_id, campaign.campaign_id)
        if fresh.status != "DRAFT" or int(fresh.list_id or 0) != list_id:
            raise Conflict(REPLACED, code="SUPERSEDED")
        if time.time() >= deadline:
            return False
        time.sleep(0.1)


def release(campaign: CampaignModel, list_id: int) -> None:
    """Give the writer slot up (every chunk sent has landed). A list left unfinished while it
    is still the campaign's is abandoned: the campaign moves on to an empty list."""
    campaigns.abandon_list(campaign, list_id)


def _still_current(campaign: CampaignModel, list_id: int,
                   upload_id: str | None) -> KeepGoing:
    """Asked between chunks: is this list still the campaign's (read at most every
    CHECK_EVERY_SECONDS)?"""
    last = [time.monotonic()]

    def check() -> bool:
        if time.monotonic() - last[0] < CHECK_EVERY_SECONDS:
            return True
        last[0] = time.monotonic()
        fresh = campaigns.get(campaign.brand_id, campaign.campaign_id)
        upload_ok = upload_id is None or (fresh.upload is not None
                                          and fresh.upload.upload_id == upload_id)
        return fresh.status == "DRAFT" and int(fresh.list_id or 0) == list_id and upload_ok
    return check


def has_list(campaign: CampaignModel) -> bool:
    """Whether the campaign holds a list (accepted or rejected lines) or an upload's state."""
    return bool(campaign.recipients_total or campaign.recipient_errors or campaign.upload)


def delete_lines(campaign: CampaignModel) -> None:
    """Delete the lines of lists the campaign has forgotten (campaigns.edit_draft's
    forget_recipients, written first),
    if no store holds the writer slot; otherwise the next store deletes them (they are no
    list's meanwhile: nothing shows or sends them)."""
    list_id = int(campaign.list_id or 0)
    try:
        if not take_slot(campaign, list_id, TYPED_LEASE_SECONDS, 0):
            return
    except Conflict:
        return  # a newer list came: its store deletes them
    try:
        recipient_lines.delete_all(campaign.campaign_id)
        messages.delete_campaign_messages(campaign.campaign_id)
    finally:
        campaigns.release_list_writer(campaign, list_id)


# --- pages of the stored list -----------------------------------------------------------------

def page(principal: Principal, campaign_id: str, errors: bool, limit: int,
         cursor: str | None) -> dict[str, Any]:
    campaign = campaigns.get(principal.brand_id, campaign_id)  # 404 for another brand's
    list_id = int(campaign.list_id or 0)
    if errors:
        items, next_cursor = recipient_lines.page(campaign_id, list_id, limit, cursor)
        return {"items": items, "next_cursor": next_cursor}
    stored, next_cursor = messages.page(campaign_id, limit, cursor, list_id=list_id)
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

def s3() -> Any:
    return aws.client("s3")


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
    campaigns.start_upload(campaign, upload_id, key, now, "the campaign left DRAFT meanwhile")
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
            if count % PROGRESS_EVERY < bulk.BATCH * bulk.WRITERS:
                _progress(campaign, upload_id, stored=count)

        accepted, rejected = store(campaign, results, upload_id=upload_id, progress=stored,
                                   upload_done={"status": "DONE", "stored": accepted_count})
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


def _progress(campaign: CampaignModel, upload_id: str, **changes: Any) -> None:
    try:
        campaigns.upload_progress(campaign, upload_id, time.time(), changes,
                                  "a newer upload replaced this one")
    except Conflict:
        raise DomainError("a newer upload replaced this one", code="SUPERSEDED") from None


# --- JSON recipients, appended to the campaign's list ---------------------------

def append_json(principal: Principal, campaign_id: str, raw: bytes | None) -> dict[str, Any]:
    """Append up to 1,000 recipients given as JSON to the campaign's current list (typed, CSV or
    earlier appends), while it is a DRAFT. All or nothing: a line with errors (the checks of
    typed and CSV lists, keyed by index) stores nothing (422). Appends take the list's writer
    slot as a list store does, so an append and a replacement never mix their lines."""
    payload = _json_recipients(raw)
    campaign = _draft(principal.brand_id, campaign_id)
    upload = campaign.upload
    if upload is not None and upload.status not in ("DONE", "FAILED"):
        raise Conflict("a CSV upload of this campaign is being parsed; it replaces the list. "
                       "Append once it is done", code="UPLOAD_NOT_DONE")
    brand = brands.get_brand(principal.brand_id)
    spec = campaign_spec(campaign, brand)
    list_id = int(campaign.list_id or 0)
    if not take_slot(campaign, list_id, TYPED_LEASE_SECONDS, TYPED_WAIT_SECONDS):
        raise Conflict(STILL_STORING, code="LIST_BEING_STORED")
    try:
        fresh = campaigns.get(campaign.brand_id, campaign_id)
        base = int(fresh.recipients_total or 0) + int(fresh.recipient_errors or 0)
        results, external_ids = _json_lines(payload, spec, base)
        stored = messages.phones_in_list(
            campaign_id, [str(r.phone) for r in results if r.phone], list_id)
        for result in results:
            if result.phone in stored:
                result.error("DUPLICATE_NUMBER", f"{result.phone} is already in the campaign's "
                             "list")
        rejected = [(index, r) for index, r in enumerate(results) if not r.ok]
        if rejected:
            raise _rejected(rejected)
        now = time.time()
        items = [messages.pending_message(
            campaign_id, str(r.phone), brand_id=campaign.brand_id, skill=campaign.skill,
            channel=campaign.channel, line=r.line, text=r.text, variables=r.variables,
            fallback_text=r.fallback_text, zones=r.zones, country=r.country, now=now,
            list_id=list_id, external_id=external_ids[index])
            for index, r in enumerate(results)]
        if not messages.put_pending(items,
                                            keep_going=_still_current(campaign, list_id, None)):
            raise Conflict(REPLACED, code="SUPERSEDED")
        campaigns.finish_append(campaign, list_id, len(items), now, REPLACED)
    except Conflict as error:
        release(campaign, list_id)
        if error.code == "CONFLICT":
            raise Conflict(REPLACED, code="SUPERSEDED") from None
        raise
    except Unprocessable:
        campaigns.release_list_writer(campaign, list_id)  # nothing was written
        raise
    except BaseException:
        release(campaign, list_id)
        raise
    return {
        "accepted": len(results), "rejected": [],
        "preview": [dict(r.to_dict(), index=i, external_id=external_ids[i])
                    for i, r in enumerate(results)][:100],
        "summary": {"total": len(results), "valid": len(results), "invalid": 0,
                    "header": None},
        "recipients": base + len(results),
    }


def _json_recipients(raw: bytes | None) -> RecipientsIn:
    data = read_object(raw)
    given = data.get("recipients")
    if isinstance(given, list) and len(given) > MAX_JSON_RECIPIENTS:
        raise ValidationFailed(
            f"recipients: at most {MAX_JSON_RECIPIENTS:,} a request; this one has "
            f"{len(given):,}. Send the rest in further requests (they append) or upload a CSV "
            "file", code="TOO_MANY_RECIPIENTS",
            details=[{"field": "recipients", "message": f"at most {MAX_JSON_RECIPIENTS:,} "
                      "a request"}])
    return validate(RecipientsIn, data)


def _json_lines(payload: RecipientsIn, spec: lists.ListContent,
                base: int) -> tuple[list[lists.LineResult], list[str | None]]:
    """The typed-list checks for JSON recipients: each becomes the line a typed list would hold
    (phone, then the variables in order or the recipient's own text)."""
    rows: list[tuple[int, str, list[str]]] = []
    problems: dict[int, list[tuple[str, str]]] = {}
    whatsapp = spec.channel in ("whatsapp", "prioritized")
    for index, recipient in enumerate(payload.recipients):
        fields = [recipient.phone.strip()]
        found: list[tuple[str, str]] = []
        if whatsapp:
            if recipient.text is not None:
                found.append(("TEXT_NOT_USED", "text: a WhatsApp message is the template's "
                              "body; give its variables"))
            values = recipient.variables or {}
            if any(not name.isdigit() for name in values):
                found.append(("INVALID_VARIABLE", "variables: name them by the template's "
                              'variable numbers, e.g. {"1": "Ann"}'))
            else:
                fields += [values[name].strip()
                           for name in sorted(values, key=lambda n: int(n))]
        else:
            if recipient.variables:
                found.append(("TOO_MANY_VARIABLES", "variables: an SMS campaign takes no "
                              "variables; give the recipient's own text"))
            if recipient.text is not None:
                fields.append(recipient.text.strip())
        problems[index] = found
        rows.append((base + index + 1, json.dumps(recipient.model_dump(exclude_none=True),
                                                  ensure_ascii=False), fields))
    results = lists.parse_rows(rows, spec)
    for index, result in enumerate(results):
        for code, message in problems[index]:
            result.error(code, message)
    return results, [r.external_id for r in payload.recipients]


def _rejected(rejected: list[tuple[int, lists.LineResult]]) -> Unprocessable:
    details = [{"field": f"recipients.{index}", "index": index, "code": error["code"],
                "message": error["message"]}
               for index, result in rejected for error in result.errors]
    first = details[0]
    return Unprocessable(
        f"{len(rejected)} recipient(s) have errors (first: recipients.{first['index']}: "
        f"{first['message']}); nothing was stored. Correct them and send the request again",
        code="RECIPIENTS_REJECTED", details=details)
