"""Analytics and report routes as a campaign manager uses them: CSV downloads (inline or through
S3), bad parameters, roles and brand scoping."""

from __future__ import annotations

import csv
import io
import urllib.request

import pytest

from chalicelib.services import reports
from chalicelib.services.auth import Principal
from chalicelib.store import optouts
from tests.conftest import Api, Brand, campaign_body
from tests.service.analytics.conftest import (
    Planned,
    Stream,
    at,
    deliver,
    new_campaign,
    play,
)


def _rows(body: bytes | str) -> list[dict[str, str]]:
    raw = body.encode("utf-8") if isinstance(body, str) else body
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def _get_raw(api: Api, path: str, brand: Brand) -> tuple[int, dict[str, str], bytes]:
    response = api.client.http.get(path, headers=brand.auth())
    return response.status_code, response.headers, response.body


def test_campaigns_csv_lists_every_campaign_with_its_numbers_and_neutralised_names(
        api: Api, brand: Brand, stream: Stream) -> None:
    status, created = api.call("POST", "/campaigns", brand, json_body=campaign_body(
        name='=HYPERLINK("http://evil.example","Zoë")'))
    assert status == 201
    cid = new_campaign(brand.brand_id, "cmp_café", "support", name="Café crème",
                       created_at=at("2026-03-01T00:00"))
    play(Planned(cid, brand.brand_id, "support", "+12125550601", "DELIVERED",
                 at("2026-03-02T10:00")))
    play(Planned(cid, brand.brand_id, "support", "+12125550602", "FAILED",
                 at("2026-03-02T10:01")))
    deliver(stream.read_new())

    status, headers, body = _get_raw(api, "/campaigns.csv", brand)
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert "attachment" in headers["Content-Disposition"]
    rows = {r["id"]: r for r in _rows(body)}
    assert rows[created["id"]]["name"] == '\'=HYPERLINK("http://evil.example","Zoë")'
    assert rows[cid]["name"] == "Café crème"
    assert (rows[cid]["sent"], rows[cid]["delivered"], rows[cid]["failed"],
            rows[cid]["success_rate"]) == ("2", "1", "1", "0.5000")


def test_messages_csv_has_every_recipient_with_outcome_and_text(api: Api, brand: Brand,
                                                                 stream: Stream) -> None:
    cid = new_campaign(brand.brand_id, "cmp_rows", "sales", created_at=at("2026-03-01T00:00"))
    play(Planned(cid, brand.brand_id, "sales", "+12125550701", "RESPONDED",
                 at("2026-03-02T10:00")))
    play(Planned(cid, brand.brand_id, "sales", "+12125550702", "FAILED", at("2026-03-02T10:01")))
    play(Planned(cid, brand.brand_id, "sales", "+12125550703", "SKIPPED", at("2026-03-02T10:02")))
    optouts.add(brand.brand_id, "+12125550701", "keyword", "STOP", at("2026-03-02T12:00"))

    status, headers, body = _get_raw(api, f"/campaigns/{cid}/messages.csv", brand)
    assert status == 200, body
    rows = {r["phone"]: r for r in _rows(body)}
    assert set(rows) == {"+12125550701", "+12125550702", "+12125550703"}
    answered = rows["+12125550701"]
    assert (answered["status"], answered["sent"], answered["delivered"], answered["responded"],
            answered["opted_out"]) == ("RESPONDED", "yes", "yes", "yes", "yes")
    assert answered["sent_at"] == "2026-03-02T10:00:00Z"
    assert answered["opted_out_at"] == "2026-03-02T12:00:00Z"
    assert answered["text"] == "Spring sale\nReply STOP to opt out"
    failed = rows["+12125550702"]
    assert (failed["status"], failed["error_code"], failed["sent"]) == ("FAILED", "21211", "no")
    assert rows["+12125550703"]["opted_out"] == "yes"  # skipped because opted out


def test_a_large_export_goes_to_s3_and_the_link_gives_the_whole_file(brand: Brand) -> None:
    cid = new_campaign(brand.brand_id, "cmp_big", "sales", created_at=at("2026-03-01T00:00"))
    for n in range(5):
        play(Planned(cid, brand.brand_id, "sales", f"+1212555{800 + n:04d}", "SENT",
                     at("2026-03-02T10:00")))
    export = reports.messages_csv(Principal(brand.brand_id, "admin", "k", ""), cid, max_rows=3)
    assert export.body is None and export.link is not None
    assert export.link["rows"] == 5 and export.link["method"] == "GET"
    with urllib.request.urlopen(export.link["url"]) as response:
        rows = _rows(response.read())
    assert [r["phone"] for r in rows] == [f"+1212555{800 + n:04d}" for n in range(5)]


@pytest.mark.parametrize(("query", "field"), [
    ("range=fortnight", "range"), ("from=2026-03-05&to=2026-03-01", "from"),
    ("from=2023-01-01&to=2026-01-01", "to"), ("from=01/03/2026&to=2026-03-05", "from"),
    ("skills=sales,nope", "skills"),
])
def test_invalid_analytics_parameters_answer_400_naming_them(api: Api, brand: Brand, query: str,
                                                             field: str) -> None:
    status, body = api.call("GET", f"/analytics?{query}", brand)
    assert status == 400, body
    assert body["error"]["details"][0]["field"] == field


def test_analytics_default_to_the_last_30_days_with_null_rates_when_empty(
        api: Api, brand: Brand) -> None:
    status, body = api.call("GET", "/analytics", brand)
    assert status == 200, body
    assert body["range"]["granularity"] == "day" and len(body["series"]) == 30
    assert body["range"]["time_zone"] == "America/New_York"
    assert set(body["rates"].values()) == {None}
    status, summary = api.call("GET", "/summary", brand, role="admin")
    assert status == 200 and summary["totals"]["sent"] == 0
    assert summary["rates"]["success_rate"] is None


def test_agents_cannot_read_analytics_or_reports_and_brands_see_only_their_own(
        api: Api, brand: Brand, other_brand: Brand) -> None:
    cid = new_campaign(brand.brand_id, "cmp_private", "sales", created_at=at("2026-03-01T00:00"))
    for path in ("/analytics", "/summary", "/campaigns.csv", f"/campaigns/{cid}/analytics",
                 f"/campaigns/{cid}/messages.csv"):
        for role in ("agent", "agent_manager"):
            status, body = api.call("GET", path, brand, role=role)
            assert status == 403, (path, role, body)
    for path in (f"/campaigns/{cid}/analytics", f"/campaigns/{cid}/messages.csv"):
        status, body = api.call("GET", path, other_brand)
        assert status == 404, (path, body)
    status, headers, body = _get_raw(api, "/campaigns.csv", other_brand)
    assert b"cmp_private" not in body
