"""Admins read (pages, CSV), add and remove opt-outs; each is recorded with source and time."""

from __future__ import annotations

import csv
import io

from chalicelib.store import optouts
from tests.conftest import Api, Brand
from tests.service.inbound.conftest import Twilio


def test_admin_opts_a_consumer_out_and_back_in(api: Api, brand: Brand) -> None:
    status, created = api.call("PUT", "/optouts/%2B1%20(212)%20555-0191", brand, role="admin")
    assert status == 201, created
    assert created["phone"] == "+12125550191" and created["source"] == "admin"
    assert created["by"] == "acme admin" and created["created_at"].endswith("Z")
    assert optouts.opted_out(brand.brand_id, ["+12125550191"]) == {"+12125550191"}
    assert api.call("PUT", "/optouts/12125550191", brand, role="admin")[0] == 200  # already

    status, removed = api.call("DELETE", "/optouts/+12125550191", brand, role="admin")
    assert status == 200 and removed == {"phone": "+12125550191", "opted_out": False}
    assert optouts.opted_out(brand.brand_id, ["+12125550191"]) == set()
    status, body = api.call("DELETE", "/optouts/+12125550191", brand, role="admin")
    assert status == 404, body


def test_list_pages_filters_by_phone_and_exports_csv(api: Api, twilio: Twilio,
                                                     brand: Brand, other_brand: Brand) -> None:
    phones = [f"+1212555{n:04d}" for n in range(191, 196)]
    for phone in phones[:4]:
        api.call("PUT", f"/optouts/{phone}", brand, role="admin")
    twilio.reply(phones[4], brand.sms_number, "Unsubscribe")
    api.call("PUT", "/optouts/+14155550111", other_brand, role="admin")

    seen: list[str] = []
    cursor = ""
    while True:
        status, page = api.call("GET", f"/optouts?limit=2{cursor}", brand, role="admin")
        assert status == 200 and len(page["items"]) <= 2
        seen += [i["phone"] for i in page["items"]]
        if not page["next_cursor"]:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert sorted(seen) == phones  # not the other brand's

    status, one = api.call("GET", f"/optouts?phone={phones[4].replace('+', '%2B')}", brand,
                           role="admin")
    assert status == 200
    assert [(i["source"], i["keyword"], i["number"]) for i in one["items"]] == [
        ("keyword", "UNSUBSCRIBE", brand.sms_number)]

    response = api.client.http.get("/optouts?format=csv", headers=brand.auth("admin"))
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.body.decode("utf-8-sig"))))
    assert sorted(r["phone"] for r in rows) == phones
    assert {r["source"] for r in rows} == {"admin", "keyword"}
    assert all(r["created_at"] for r in rows)


def test_only_admins_manage_opt_outs(api: Api, brand: Brand) -> None:
    for role in ("campaign_manager", "agent", "agent_manager"):
        assert api.call("GET", "/optouts", brand, role=role)[0] == 403
        assert api.call("PUT", "/optouts/+12125550191", brand, role=role)[0] == 403
        assert api.call("DELETE", "/optouts/+12125550191", brand, role=role)[0] == 403


def test_bad_input_names_the_field(api: Api, brand: Brand) -> None:
    status, body = api.call("PUT", "/optouts/not-a-number", brand, role="admin")
    assert status == 400 and body["error"]["details"][0]["field"] == "phone"
    status, body = api.call("GET", "/optouts?format=xml", brand, role="admin")
    assert status == 400 and body["error"]["details"][0]["field"] == "format"
    status, body = api.call("GET", "/optouts?cursor=zzz", brand, role="admin")
    assert status == 400 and body["error"]["details"][0]["field"] == "cursor"


def test_the_csv_export_cannot_run_a_formula_in_a_spreadsheet(api: Api, brand: Brand) -> None:
    # An admin key's label is free text and becomes the opt-out's `by`: a label starting with
    # = + - @ must reach the spreadsheet as text, as in every other export.
    from chalicelib.services import auth

    labels = ['=HYPERLINK("http://evil.example","x")', "+SUM(1,2)", "-2+3", "@cmd"]
    for n, label in enumerate(labels):
        _, secret = auth.create_key(brand.brand_id, "admin", label=label)
        response = api.client.http.put(f"/optouts/+1212555{191 + n:04d}",
                                       headers={"Authorization": f"Bearer {secret}"}, body=b"")
        assert response.status_code == 201, response.body

    response = api.client.http.get("/optouts?format=csv", headers=brand.auth("admin"))
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.body.decode("utf-8-sig"))))
    assert sorted(r["by"] for r in rows) == sorted("'" + label for label in labels)
    assert sorted(r["phone"] for r in rows) == [f"+1212555{n:04d}" for n in range(191, 195)]
