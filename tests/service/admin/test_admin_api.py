"""The admin API: who may use it, sender numbers, skills, brand settings, API keys, audit."""

from __future__ import annotations

from tests.conftest import Api, Brand, campaign_body

ADMIN_ONLY = [
    ("PUT", "/brand", {"help_text": "Reply HELP for help, STOP to stop."}),
    ("POST", "/numbers", {"number": "+12125550177", "channel": "sms"}),
    ("PATCH", "/numbers/%2B12125550100", {"rate": 2}),
    ("DELETE", "/numbers/%2B12125550100", None),
    ("POST", "/skills", {"id": "billing", "name": "Billing"}),
    ("PATCH", "/skills/sales", {"name": "Sales team"}),
    ("GET", "/keys", None),
    ("POST", "/keys", {"role": "campaign_manager", "label": "Ann"}),
    ("GET", "/audit", None),
]


def test_only_admins_may_administer_the_brand(api: Api, brand: Brand) -> None:
    for method, path, body in ADMIN_ONLY:
        for role in ("campaign_manager", "agent", "agent_manager"):
            status, answer = api.call(method, path, brand, role=role, json_body=body)
            assert status == 403, (method, path, role, answer)
            assert answer["error"]["code"] == "FORBIDDEN"
        assert api.call(method, path, None, json_body=body)[0] == 401, (method, path)
        status, answer = api.call(method, path, brand, role="admin", json_body=body)
        assert status in (200, 201), (method, path, answer)


def test_campaign_managers_may_list_numbers_and_skills_agents_may_not(api: Api,
                                                                     brand: Brand) -> None:
    status, settings = api.call("GET", "/brand", brand, role="campaign_manager")
    assert status == 200 and settings["opt_out_text"] == "Reply STOP to opt out"
    assert api.call("GET", "/brand", brand, role="agent")[0] == 403
    for path in ("/numbers", "/skills"):
        status, answer = api.call("GET", path, brand, role="campaign_manager")
        assert status == 200 and answer["items"]
        assert api.call("GET", path, brand, role="agent")[0] == 403


def test_a_sender_number_belongs_to_one_brand_only(api: Api, brand: Brand,
                                                   other_brand: Brand) -> None:
    status, added = api.call("POST", "/numbers", brand, role="admin", json_body={
        "number": "+1 (212) 555-0150", "channel": "sms", "kind": "long_code", "rate": 2})
    assert status == 201
    assert added == {"number": "+12125550150", "channel": "sms", "kind": "long_code",
                     "rate": 2.0, "gateway_answers_keywords": False}

    status, answer = api.call("POST", "/numbers", other_brand, role="admin", json_body={
        "number": "+12125550150", "channel": "sms"})
    assert status == 409
    assert answer["error"]["code"] == "NUMBER_TAKEN"
    assert "another brand" in answer["error"]["message"]
    assert brand.brand_id not in answer["error"]["message"]

    status, again = api.call("POST", "/numbers", brand, role="admin", json_body={
        "number": "+12125550150", "channel": "sms"})
    assert status == 409 and "this brand" in again["error"]["message"]
    _, mine = api.call("GET", "/numbers", brand, role="campaign_manager")
    _, theirs = api.call("GET", "/numbers", other_brand, role="campaign_manager")
    assert "+12125550150" in [n["number"] for n in mine["items"]]
    assert "+12125550150" not in [n["number"] for n in theirs["items"]]


BAD_NUMBERS = [
    ({"number": "2125550150", "channel": "sms"}, "number"),
    ({"number": "+1212555", "channel": "sms"}, "number"),
    ({"number": "+12125550150", "channel": "fax"}, "channel"),
    ({"number": "+12125550150", "channel": "whatsapp", "kind": "long_code"}, "kind"),
    ({"number": "+18005550150", "channel": "sms", "kind": "long_code"}, "kind"),
    ({"number": "+12125550150", "channel": "sms", "rate": 0}, "rate"),
    ({"number": "+12125550150", "channel": "sms", "colour": "red"}, "colour"),
    ({"number": "+12125550150", "channel": "whatsapp", "gateway_answers_keywords": True},
     "gateway_answers_keywords"),
]


def test_a_bad_sender_number_is_refused_naming_the_field(api: Api, brand: Brand) -> None:
    for body, field in BAD_NUMBERS:
        status, answer = api.call("POST", "/numbers", brand, role="admin", json_body=body)
        assert status == 400, (body, answer)
        assert field in answer["error"]["message"], (body, answer)


def test_sender_number_kinds_get_their_default_rates(api: Api, brand: Brand) -> None:
    _, toll_free = api.call("POST", "/numbers", brand, role="admin",
                            json_body={"number": "+18005550150", "channel": "sms",
                                       "kind": "toll_free"})
    _, short = api.call("POST", "/numbers", brand, role="admin",
                        json_body={"number": "55501", "channel": "sms", "kind": "short_code"})
    _, whatsapp = api.call("POST", "/numbers", brand, role="admin",
                           json_body={"number": "+12125550160", "channel": "whatsapp"})
    assert (toll_free["rate"], short["rate"], whatsapp["rate"]) == (3.0, 100.0, 80.0)
    assert whatsapp["kind"] == "whatsapp"


def test_a_numbers_rate_and_keyword_answers_change_while_a_campaign_uses_it(
        api: Api, brand: Brand, other_brand: Brand) -> None:
    status, created = api.call("POST", "/campaigns", brand, json_body=campaign_body())
    assert status == 201 and created["from_number"] == "+12125550100"
    status, changed = api.call("PATCH", "/numbers/%2B12125550100", brand, role="admin",
                               json_body={"rate": 0.5, "gateway_answers_keywords": True})
    assert status == 200, changed
    assert (changed["rate"], changed["gateway_answers_keywords"]) == (0.5, True)
    _, listed = api.call("GET", "/numbers", brand, role="campaign_manager")
    [mine] = [n for n in listed["items"] if n["number"] == "+12125550100"]
    assert mine == changed
    _, audit = api.call("GET", "/audit?limit=1", brand, role="admin")
    [entry] = audit["items"]
    assert entry["action"] == "number.update"
    assert (entry["before"]["rate"], entry["after"]["rate"]) == (50.0, 0.5)
    assert entry["after"]["gateway_answers_keywords"] is True

    for body, field in (({}, "rate"), ({"rate": 0}, "rate"), ({"kind": "toll_free"}, "kind"),
                        ({"gateway_answers_keywords": "maybe"}, "gateway_answers_keywords")):
        status, answer = api.call("PATCH", "/numbers/%2B12125550100", brand, role="admin",
                                  json_body=body)
        assert status == 400 and field in answer["error"]["message"], (body, answer)
    status, _ = api.call("PATCH", f"/numbers/%2B{other_brand.sms_number[1:]}", brand,
                         role="admin", json_body={"rate": 1})
    assert status == 404
    api.call("POST", "/numbers", brand, role="admin",
             json_body={"number": "+12125550160", "channel": "whatsapp"})
    status, answer = api.call("PATCH", "/numbers/%2B12125550160", brand, role="admin",
                              json_body={"gateway_answers_keywords": True})
    assert status == 400 and "gateway_answers_keywords" in answer["error"]["message"]


def test_removing_a_number_frees_it_and_another_brands_number_is_not_found(
        api: Api, brand: Brand, other_brand: Brand) -> None:
    status, _ = api.call("DELETE", f"/numbers/%2B{other_brand.sms_number[1:]}", brand,
                         role="admin")
    assert status == 404
    status, answer = api.call("DELETE", "/numbers/%2B12125550100", brand, role="admin")
    assert status == 200 and answer == {"removed": "+12125550100"}
    status, _ = api.call("POST", "/numbers", other_brand, role="admin",
                         json_body={"number": "+12125550100", "channel": "sms"})
    assert status == 201


def test_a_number_sending_a_running_campaign_cannot_be_removed(api: Api, brand: Brand) -> None:
    _, campaign = api.call("POST", "/campaigns", brand, json_body=campaign_body())
    api.call("POST", f"/campaigns/{campaign['id']}/recipients", brand,
             body="+12125550101", content_type="text/plain")
    status, _ = api.call("POST", f"/campaigns/{campaign['id']}/launch", brand,
                         json_body={"consent": True})
    assert status == 200
    status, answer = api.call("DELETE", "/numbers/%2B12125550100", brand, role="admin")
    assert status == 409 and answer["error"]["code"] == "NUMBER_IN_USE"


def test_a_retired_skill_cannot_be_chosen_for_a_new_campaign(api: Api, brand: Brand) -> None:
    status, created = api.call("POST", "/skills", brand, role="admin",
                               json_body={"name": "Winter Promotions"})
    assert status == 201 and created == {"id": "winter-promotions", "name": "Winter Promotions",
                                         "retired": False}
    status, _ = api.call("POST", "/campaigns", brand,
                         json_body=campaign_body(skill="winter-promotions"))
    assert status == 201

    status, retired = api.call("PATCH", "/skills/winter-promotions", brand, role="admin",
                               json_body={"retired": True, "name": "Winter 2026"})
    assert status == 200 and retired["retired"] is True and retired["name"] == "Winter 2026"
    status, answer = api.call("POST", "/campaigns", brand,
                              json_body=campaign_body(skill="winter-promotions"))
    assert status == 400 and "skill" in answer["error"]["message"]
    _, skills = api.call("GET", "/skills", brand)
    assert {"id": "winter-promotions", "name": "Winter 2026", "retired": True} in skills["items"]


def test_skills_are_unique_and_the_default_skill_cannot_be_retired(api: Api,
                                                                  brand: Brand) -> None:
    status, answer = api.call("POST", "/skills", brand, role="admin",
                              json_body={"id": "sales", "name": "Sales again"})
    assert status == 409
    status, answer = api.call("PATCH", "/skills/support", brand, role="admin",
                              json_body={"retired": True})
    assert status == 409 and answer["error"]["code"] == "DEFAULT_SKILL"
    status, _ = api.call("PATCH", "/skills/nope", brand, role="admin",
                         json_body={"name": "x"})
    assert status == 404


def test_brand_settings_are_validated_and_saved(api: Api, brand: Brand) -> None:
    for body, field in (({"opt_out_text": "x" * 43}, "opt_out_text"),
                        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
                        ({"time_zone": "Etc/Unknown"}, "time_zone"),
                        ({"window": {"start": "21:00", "end": "08:00"}}, "window"),
                        ({"lookback_days": 0}, "lookback_days"),
                        ({"default_skill": "nope"}, "default_skill"),
                        ({}, "body")):
        status, answer = api.call("PUT", "/brand", brand, role="admin", json_body=body)
        assert status == 400, body
        assert field in answer["error"]["message"], answer

    status, saved = api.call("PUT", "/brand", brand, role="admin", json_body={
        "time_zone": "Europe/London", "opt_out_text": "Text STOP to end",
        "window": {"start": "09:00", "end": "20:00"}, "lookback_days": 14,
        "default_skill": "sales", "help_text": "Acme help: call 212 555 0199"})
    assert status == 200
    _, read = api.call("GET", "/brand", brand, role="admin")
    assert read == saved
    assert read["time_zone"] == "Europe/London" and read["opt_out_text"] == "Text STOP to end"
    assert read["window"] == {"start": "09:00", "end": "20:00"}
    assert read["lookback_days"] == 14 and read["default_skill"] == "sales"


def test_a_new_key_is_shown_once_listed_without_secret_and_records_its_use(
        api: Api, brand: Brand) -> None:
    status, created = api.call("POST", "/keys", brand, role="admin",
                               json_body={"role": "campaign_manager", "label": "Ann (ops)"})
    assert status == 201 and created["secret"].startswith("pk_")
    status, _ = api.call("GET", "/campaigns", Brand(brand.brand_id, {
        "x": created["secret"]}, brand.sms_number), role="x")
    assert status == 200

    _, listed = api.call("GET", "/keys", brand, role="admin")
    mine = next(k for k in listed["items"] if k["id"] == created["id"])
    assert "secret" not in mine and created["secret"] not in str(listed)
    assert mine["role"] == "campaign_manager" and mine["label"] == "Ann (ops)"
    assert mine["last_used_at"] is not None and mine["active"] is True

    status, answer = api.call("POST", "/keys", brand, role="admin",
                              json_body={"role": "superuser"})
    assert status == 400 and "role" in answer["error"]["message"]


def test_a_revoked_key_gets_401_at_once(api: Api, brand: Brand) -> None:
    _, created = api.call("POST", "/keys", brand, role="admin",
                          json_body={"role": "campaign_manager", "label": "leaver"})
    leaver = Brand(brand.brand_id, {"campaign_manager": created["secret"]}, brand.sms_number)
    assert api.call("GET", "/campaigns", leaver)[0] == 200

    status, revoked = api.call("DELETE", f"/keys/{created['id']}", brand, role="admin")
    assert status == 200 and revoked["active"] is False and revoked["revoked_at"]
    status, answer = api.call("GET", "/campaigns", leaver)
    assert status == 401 and "revoked" in answer["error"]["message"]
    assert api.call("DELETE", f"/keys/{created['id']}", brand, role="admin")[0] == 409


def test_another_brands_key_cannot_be_revoked_nor_the_last_admin_key(
        api: Api, brand: Brand, other_brand: Brand) -> None:
    _, theirs = api.call("GET", "/keys", other_brand, role="admin")
    status, _ = api.call("DELETE", f"/keys/{theirs['items'][0]['id']}", brand, role="admin")
    assert status == 404
    _, mine = api.call("GET", "/keys", brand, role="admin")
    admin_key = next(k for k in mine["items"] if k["role"] == "admin")
    status, answer = api.call("DELETE", f"/keys/{admin_key['id']}", brand, role="admin")
    assert status == 409 and answer["error"]["code"] == "LAST_ADMIN_KEY"


def test_every_admin_change_is_in_the_audit_log_newest_first(api: Api, brand: Brand) -> None:
    api.call("PUT", "/brand", brand, role="admin", json_body={"opt_out_text": "STOP to end"})
    api.call("POST", "/numbers", brand, role="admin",
             json_body={"number": "+12125550170", "channel": "sms"})
    api.call("POST", "/skills", brand, role="admin", json_body={"id": "vip", "name": "VIP"})
    api.call("PATCH", "/skills/vip", brand, role="admin", json_body={"retired": True})
    _, key = api.call("POST", "/keys", brand, role="admin", json_body={"role": "agent"})
    api.call("DELETE", f"/keys/{key['id']}", brand, role="admin")
    api.call("DELETE", "/numbers/%2B12125550170", brand, role="admin")
    api.call("POST", "/skills", brand, role="campaign_manager",
             json_body={"id": "denied", "name": "Denied"})  # 403: no change, no entry

    status, first = api.call("GET", "/audit?limit=4", brand, role="admin")
    assert status == 200 and len(first["items"]) == 4 and first["next_cursor"]
    _, rest = api.call("GET", f"/audit?limit=50&cursor={first['next_cursor']}", brand,
                       role="admin")
    entries = first["items"] + rest["items"]
    assert [e["action"] for e in entries] == [
        "number.remove", "key.revoke", "key.create", "skill.retire", "skill.create",
        "number.add", "brand.update"]
    brand_update = entries[-1]
    assert brand_update["before"] == {"opt_out_text": "Reply STOP to opt out"}
    assert brand_update["after"] == {"opt_out_text": "STOP to end"}
    assert brand_update["actor"]["role"] == "admin"
    assert brand_update["actor"]["label"] == f"{brand.brand_id} admin"
    assert brand_update["at"].endswith("Z")
    assert entries[0]["before"]["number"] == "+12125550170" and entries[0]["after"] is None
    assert "secret" not in str(entries)


def test_brands_see_only_their_own_audit_log(api: Api, brand: Brand,
                                             other_brand: Brand) -> None:
    api.call("POST", "/skills", brand, role="admin", json_body={"id": "vip", "name": "VIP"})
    _, theirs = api.call("GET", "/audit", other_brand, role="admin")
    assert theirs["items"] == []
