"""CSV uploads: a pre-signed form POST from a plain HTTP client, the S3 notification (the local
S3 pump, same event as Lambda gets) to parse_upload, and the stored result."""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
from typing import Any

import boto3

from chalicelib.services import views
from chalicelib.services.recipients import MAX_UPLOAD_BYTES
from chalicelib.store.models import CampaignModel, MessageModel
from local.pumps import S3Pump
from tests.conftest import Api, Brand, campaign_body
from tests.service.recipients.conftest import WHATSAPP_NUMBER
from tests.uploads import post_file


def _put(upload: dict[str, Any], data: bytes) -> int:
    """Uploads `data` as the web tool does (the name is older than the form POST)."""
    return post_file(upload, data)


def _pump(aws: dict[str, str]) -> S3Pump:
    from app import app

    s3 = boto3.session.Session(region_name="us-east-1").client(
        "s3", endpoint_url=aws["AWS_ENDPOINT_URL"])
    return S3Pump(app, "parse_upload", s3, aws["UPLOADS_BUCKET"], "uploads/")


def _upload(api: Api, brand: Brand, aws: dict[str, str], cid: str, data: bytes,
            pump: S3Pump | None = None) -> dict[str, Any]:
    status, upload = api.call("POST", f"/campaigns/{cid}/recipients/upload", brand)
    assert status == 201 and upload["method"] == "POST", upload
    status, campaign = api.call("GET", f"/campaigns/{cid}", brand)
    assert campaign["upload"]["status"] == "WAITING"
    assert _put(upload, data) == 204
    pump = pump or _pump(aws)
    assert pump.poll_once() == 1 and pump.errors == 0
    assert pump.poll_once() == 0  # delivered once per object version
    status, campaign = api.call("GET", f"/campaigns/{cid}", brand)
    return dict(campaign)


def _sms_campaign(api: Api, brand: Brand) -> str:
    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body())
    assert status == 201
    return str(body["id"])


def test_a_browser_style_form_post_of_a_small_csv_is_parsed(api: Api, brand: Brand,
                                                      aws: dict[str, str]) -> None:
    cid = _sms_campaign(api, brand)
    data = ("\ufeffphone,text\r\n+1 212 555 0101,\r\n12125550102,\"Hi Bo, 20% off\"\r\n"
            "1.2125550103E+10\r\n").encode()
    campaign = _upload(api, brand, aws, cid, data)
    assert campaign["upload"]["status"] == "DONE", campaign["upload"]
    assert (campaign["upload"]["accepted"], campaign["upload"]["rejected"]) == (2, 1)
    assert campaign["recipients"] == 2 and campaign["recipient_errors"] == 1
    status, errors = api.call("GET", f"/campaigns/{cid}/recipients?errors=true", brand)
    assert [(e["line"], e["errors"][0]["code"]) for e in errors["items"]] == [
        (4, "INVALID_NUMBER")]
    assert "scientific notation" in errors["items"][0]["errors"][0]["message"]
    status, body = api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    assert status == 409 and body["error"]["code"] == "RECIPIENT_ERRORS"


def _preflight(url: str, origin: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, method="OPTIONS", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), dict(response.headers)
    except urllib.error.HTTPError as error:
        return int(error.code), dict(error.headers)


def test_the_uploads_bucket_answers_a_preflight_from_the_web_tools_origin_only(
        api: Api, brand: Brand, aws: dict[str, str]) -> None:
    # The web tool's page (the API's origin) POSTs to the bucket's origin: CORS from the template,
    # for the API's own origin (and the stage's WebOrigin), not for any site.
    status, upload = api.call("POST", f"/campaigns/{_sms_campaign(api, brand)}/recipients/upload",
                              brand)
    s3 = boto3.session.Session(region_name="us-east-1").client(
        "s3", endpoint_url=aws["AWS_ENDPOINT_URL"])
    [rule] = s3.get_bucket_cors(Bucket=aws["UPLOADS_BUCKET"])["CORSRules"]
    assert "*" not in rule["AllowedOrigins"]
    origin = rule["AllowedOrigins"][0]
    assert origin == "https://local.execute-api.us-east-1.amazonaws.com"
    status, headers = _preflight(upload["url"], origin)
    assert status == 200 and headers["Access-Control-Allow-Origin"] == origin
    assert headers["Access-Control-Allow-Methods"] == "POST"
    assert _preflight(upload["url"], "https://elsewhere.example.com")[0] == 403


def test_the_upload_form_bounds_the_files_size_and_fixes_its_key(
        api: Api, brand: Brand, aws: dict[str, str]) -> None:
    cid = _sms_campaign(api, brand)
    status, upload = api.call("POST", f"/campaigns/{cid}/recipients/upload", brand)
    assert status == 201 and upload["max_bytes"] == MAX_UPLOAD_BYTES
    # S3 checks the signed policy of the form before it stores a byte (moto does not check it:
    # the parse checks the size again)
    policy = json.loads(base64.b64decode(upload["fields"]["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, MAX_UPLOAD_BYTES] in conditions
    key = upload["fields"]["key"]
    assert key.startswith(f"uploads/{brand.brand_id}/{cid}/") and {"key": key} in conditions
    assert {"bucket": aws["UPLOADS_BUCKET"]} in conditions
    assert {"Content-Type": "text/csv"} in conditions


def test_a_corrected_file_replaces_a_list_with_errors_and_the_campaign_launches(
        api: Api, brand: Brand, aws: dict[str, str]) -> None:
    cid, pump = _sms_campaign(api, brand), _pump(aws)
    campaign = _upload(api, brand, aws, cid, b"+1 212 555 0101\n+1 212 555\n2125550103\n", pump)
    assert (campaign["upload"]["accepted"], campaign["upload"]["rejected"]) == (1, 2)

    campaign = _upload(api, brand, aws, cid, b"+1 212 555 0101\n+1 212 555 0102\n", pump)
    assert campaign["upload"]["status"] == "DONE", campaign["upload"]
    assert campaign["recipients"] == 2 and campaign["recipient_errors"] == 0
    status, errors = api.call("GET", f"/campaigns/{cid}/recipients?errors=true", brand)
    assert errors["items"] == []
    status, body = api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    assert status == 200, body


def test_a_file_over_100000_rows_fails_and_stores_nothing(api: Api, brand: Brand,
                                                         aws: dict[str, str]) -> None:
    cid = _sms_campaign(api, brand)
    data = "\n".join(f"+1 212 {201 + n // 10000} {n % 10000:04d}" for n in range(100_001))
    campaign = _upload(api, brand, aws, cid, data.encode())
    assert campaign["upload"]["status"] == "FAILED"
    assert "100,000" in campaign["upload"]["message"]
    assert campaign["recipients"] == 0 and MessageModel.count(cid) == 0
    status, body = api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    assert status == 409 and body["error"]["code"] == "UPLOAD_NOT_DONE"


def test_a_file_that_is_not_utf8_fails_with_the_line(api: Api, brand: Brand,
                                                    aws: dict[str, str]) -> None:
    cid = _sms_campaign(api, brand)
    campaign = _upload(api, brand, aws, cid, b"+12125550101\n+12125550102\xff\n")
    assert campaign["upload"]["status"] == "FAILED"
    assert "line 2" in campaign["upload"]["message"] and "UTF-8" in campaign["upload"]["message"]


def _row(n: int) -> tuple[str, str | None]:
    """Row n of the 100k file and the error code it must get (None: accepted)."""
    kind = n % 100
    us = f"+1 212 {201 + n // 10000} {n % 10000:04d}"
    if kind == 0:
        return f"+1 212 555 {n % 1000:03d},Ann,A-{n}", "INVALID_NUMBER"  # too short
    if kind == 5:
        previous = n - 1
        return (f"1(212){201 + previous // 10000}-{previous % 10000:04d},Bo,B-{n}",
                "DUPLICATE_NUMBER")
    if kind == 7:
        return f"{us},OnlyName", "INSUFFICIENT_VARIABLES"
    if kind == 9:
        return f"+44 7400 {n:06d},\"Doe, Jane\",C-{n}", None  # non-US
    return f"{us},Cy,D-{n}", None


def test_a_100000_row_csv_through_the_upload_path(api: Api, brand: Brand, aws: dict[str, str],
                                                 whatsapp_number: str,
                                                 approved: dict[str, Any]) -> None:
    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body(
        channel="whatsapp", from_number=WHATSAPP_NUMBER, template_id=approved["id"]))
    cid = str(body["id"])
    rows = [_row(n) for n in range(100_000)]
    data = ("phone,name,order\r\n" + "\r\n".join(r for r, _ in rows) + "\r\n").encode()
    campaign = _upload(api, brand, aws, cid, data)

    expected = {n + 2: code for n, (_, code) in enumerate(rows) if code}  # line 1 is the header
    upload = campaign["upload"]
    assert upload["status"] == "DONE", upload
    assert upload["rows_done"] == 100_000
    assert (upload["accepted"], upload["rejected"]) == (97_000, 3_000)
    assert (campaign["recipients"], campaign["recipient_errors"]) == (97_000, 3_000)

    reported: dict[int, str] = {}
    cursor = ""
    while True:
        status, page = api.call("GET", f"/campaigns/{cid}/recipients?errors=true&limit=200"
                                + (f"&cursor={cursor}" if cursor else ""), brand)
        assert status == 200
        for item in page["items"]:
            reported[item["line"]] = item["errors"][0]["code"]
        if not page["next_cursor"]:
            break
        cursor = page["next_cursor"]
    assert reported == expected
    uk = MessageModel.get(cid, "+447400000009")
    assert uk.country == "GB" and uk.text == "Hi Doe, Jane, your order C-9 is ready"
    assert uk.variables == ["Doe, Jane", "C-9"] and int(uk.line) == 11
    last = MessageModel.get(cid, "+12122109999")  # the last row, n = 99,999
    assert int(last.line) == 100_001 and last.status == "PENDING"
    assert last.zones == ["America/New_York"] and last.text == (
        "Hi Cy, your order D-99999 is ready")


def test_a_parse_that_crashed_shows_failed_once_it_stalls_and_a_new_upload_replaces_it(
        api: Api, brand: Brand, aws: dict[str, str]) -> None:
    cid = _sms_campaign(api, brand)
    status, upload = api.call("POST", f"/campaigns/{cid}/recipients/upload", brand)
    assert _put(upload, b"+1 212 555 0101\n") == 204
    # the object is gone when the parser reads it: not the file's fault, the invocation fails
    s3 = boto3.session.Session(region_name="us-east-1").client(
        "s3", endpoint_url=aws["AWS_ENDPOINT_URL"])
    key = s3.list_objects_v2(Bucket=aws["UPLOADS_BUCKET"], Prefix="uploads/")["Contents"][0]
    s3.delete_object(Bucket=aws["UPLOADS_BUCKET"], Key=key["Key"])
    pump = _pump(aws)
    pump.deliver(key["Key"], int(key["Size"]), key["ETag"].strip('"'))
    assert pump.errors == 1  # left to Lambda's retries and its on-failure destination
    status, campaign = api.call("GET", f"/campaigns/{cid}", brand)
    assert campaign["upload"]["status"] == "PARSING"  # it may still be retried

    # no progress for longer than the parser may run: the campaign says so
    stored = CampaignModel.get(brand.brand_id, cid)
    stalled = time.time() - views.UPLOAD_STALL_SECONDS - 60
    stored.update(actions=[CampaignModel.upload.updated_at.set(stalled)])  # type: ignore[attr-defined]
    status, campaign = api.call("GET", f"/campaigns/{cid}", brand)
    assert campaign["upload"]["status"] == "FAILED"
    assert "upload the file again" in campaign["upload"]["message"]
    status, body = api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    assert status == 409 and body["error"]["code"] == "UPLOAD_NOT_DONE"
    assert "upload the file again" in body["error"]["message"]

    campaign = _upload(api, brand, aws, cid, b"+1 212 555 0101\n+1 212 555 0102\n")
    assert campaign["upload"]["status"] == "DONE" and campaign["recipients"] == 2
