"""The pages of the merged APIs (issues 3, 5, 6 and 7) in a real browser against the local stack."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, Route, expect

from tests.browser.conftest import (
    WebStack,
    assert_controls_labelled,
    choose,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser


def sent_campaign(web: WebStack, name: str, phones: list[str]) -> dict[str, Any]:
    """A campaign sent through the API, waited for until every recipient is SENT."""
    status, campaign = web.http("POST", "/campaigns", {
        "name": name, "channel": "sms", "from_number": web.sms_number, "skill": "sales",
        "text": f"{name}: see you soon", "schedule": {"send_rate": 10,
                                                    "window": {"start": "00:00", "end": "24:00"}}})
    assert status == 201, campaign
    status, parsed = web.http("POST", f"/campaigns/{campaign['id']}/recipients", "\n".join(phones),
                              content_type="text/plain")
    assert status == 200 and parsed["accepted"] == len(phones), parsed
    assert web.http("POST", f"/campaigns/{campaign['id']}/launch", {"consent": True})[0] == 200

    def all_sent() -> bool:
        counts = web.http("GET", f"/campaigns/{campaign['id']}")[1]["counts"]
        return bool(counts["SENT"] + counts["DELIVERED"] == len(phones))

    assert web.stack.wait_for(all_sent, timeout=60)
    return dict(campaign)


def compose_sms(page: Page, web: WebStack, name: str) -> None:
    page.get_by_role("link", name="New campaign").first.click()
    page.get_by_label("Campaign name").fill(name)
    choose(page, "#from_number", web.sms_number)
    page.get_by_label("Route replies to skill").fill("sales")
    page.get_by_label("Message text").fill(f"{name}: new arrivals this week")
    page.get_by_role("button", name="Next").click()


# --- issue 3: CSV upload through the pre-signed URL; templates -------------------------------

def test_csv_with_errors_asks_for_a_corrected_file_which_then_launches(
        page: Page, web: WebStack) -> None:
    # Needs: POST /campaigns/{id}/recipients/upload, the S3-triggered parser, upload status on
    # GET /campaigns/{id}, GET /campaigns/{id}/recipients?errors=true, and CORS on the uploads
    # bucket for the browser's PUT (the page's origin differs from the bucket's).
    sign_in(page, web)
    compose_sms(page, web, "Spring CSV")
    page.get_by_label("Upload a CSV file (up to 100,000 rows)").check()
    bad = "phone,text\n+1 212 555 0121,\n+1 212 555,\n12125550123,\n+1 212 555 0121,\n"
    page.get_by_label("CSV file", exact=True).set_input_files(
        files=[{"name": "spring.csv", "mimeType": "text/csv", "buffer": bad.encode()}])
    page.get_by_role("button", name="Upload and check").click()
    expect(page.locator("#upload-progress")).to_be_visible()
    summary = page.locator("#parse-summary")
    expect(summary).to_contain_text("lines with errors", timeout=60_000)
    expect(page.locator("#parse-result")).to_contain_text("upload the corrected file")
    expect(page.locator("#line-errors li").first).to_be_visible()
    screenshot(page, "wizard-2-csv-errors")
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#parse-result")).to_contain_text("Correct the lines with errors")

    rows = io.StringIO()
    csv.writer(rows).writerows([[f"+1 212 555 {n:04d}"] for n in range(121, 124)])
    page.get_by_label("CSV file", exact=True).set_input_files(
        files=[{"name": "spring-fixed.csv", "mimeType": "text/csv",
                "buffer": rows.getvalue().encode()}])
    page.get_by_role("button", name="Upload and check").click()
    expect(summary).to_contain_text("3 recipients ready, no errors", timeout=60_000)
    page.get_by_role("button", name="Next").click()
    page.get_by_label("All day (00:00–24:00)").check()
    page.get_by_label("Send rate (messages per second)").fill("5")
    page.get_by_role("button", name="Next").click()
    page.get_by_label(re.compile("collected opt-in consent")).check()
    page.get_by_role("button", name="Launch campaign").click()
    expect(page.locator("#status-counts")).to_contain_text("SENT 3", timeout=60_000)


def test_templates_page_creates_a_template_and_submits_it_for_approval(
        page: Page, web: WebStack) -> None:
    # Needs: POST /templates, GET /templates, POST /templates/{id}/submit (campaign managers
    # too). A campaign manager sees no menu item for a page of admins (Opt-outs).
    sign_in(page, web)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Templates")).to_be_visible()
    expect(nav.get_by_role("link", name="Opt-outs")).to_have_count(0)
    page.goto(web.url + "#/optouts")
    expect(page.get_by_role("heading", name="Not available")).to_be_visible()
    expect(page.locator("#main")).to_contain_text("This page is for the brand's admins")
    expect(page.locator("#main")).not_to_contain_text("may not use")
    page.get_by_role("link", name="Templates").click()
    page.get_by_label("Name").fill("order_shipped")
    page.get_by_label("Language").fill("en_US")
    page.get_by_label("Category").select_option("UTILITY")
    page.get_by_label("Body").fill("Hi {{1}}, your order {{2}} is on its way.")
    page.get_by_role("button", name="Create template").click()
    expect(page.locator("#template-result")).to_contain_text("order_shipped")
    row = page.locator('tr[data-template="order_shipped"]')
    expect(row).to_be_visible()
    row.get_by_role("button", name="Submit order_shipped for approval").click()
    expect(page.locator("#template-result")).to_contain_text("submitted for approval")
    expect(row).to_contain_text(re.compile("PENDING|APPROVED"))
    # archive and delete are the admins': no such buttons for a campaign manager
    admin_only = re.compile("^(Archive|Delete|Restore) ")
    expect(row.get_by_role("button", name=admin_only)).to_have_count(0)
    expect(page.get_by_label("Show archived templates")).to_have_count(0)
    assert_controls_labelled(page)
    screenshot(page, "templates")


# --- issue 5: opt-outs --------------------------------------------------------------------

def test_opt_outs_page_adds_finds_and_removes_a_number(page: Page, web: WebStack) -> None:
    # Needs: GET /optouts?phone=, PUT /optouts/{phone}, DELETE /optouts/{phone} (admin).
    sign_in(page, web, role="admin")
    page.get_by_role("link", name="Opt-outs").click()
    page.get_by_label("Phone number").fill("+12125550131")
    page.get_by_role("button", name="Opt out this number").click()
    expect(page.locator("#optout-result")).to_contain_text("is opted out")
    page.get_by_label("Search a number").fill("+12125550131")
    page.get_by_role("button", name="Search").click()
    row = page.locator('tr[data-phone="+12125550131"]')
    expect(row).to_be_visible()
    # The source decides whether the consumer's START lifts it (issue 11.6).
    expect(row.locator(".optout-source")).to_contain_text("Added by an admin")
    assert_controls_labelled(page)
    screenshot(page, "optouts")
    with page.expect_download() as listed:
        page.get_by_role("button", name="Download (CSV)").click()
    assert listed.value.suggested_filename == "optouts.csv"
    assert "+12125550131" in Path(listed.value.path()).read_text(encoding="utf-8")
    row.get_by_role("button", name="Remove +12125550131").click()
    expect(page.locator("#optout-result")).to_contain_text("may receive messages again")
    expect(page.locator("#optouts-list")).to_contain_text("has not opted out")


# --- issue 6: analytics, headline metrics, downloads ---------------------------------------

def test_analytics_show_the_numbers_of_a_sent_campaign_with_charts(
        page: Page, web: WebStack) -> None:
    # Needs: GET /analytics (ranges, skills), GET /campaigns/{id}/analytics, campaign metrics.
    campaign = sent_campaign(web, "Analytics sale", [f"+1 212 555 {n:04d}" for n in (141, 142)])
    sign_in(page, web)
    expect(page.locator("#headline")).to_contain_text("Success rate")
    page.get_by_role("link", name="Analytics", exact=True).click()
    page.get_by_label("Quick range").select_option("today")
    page.get_by_role("button", name="Show").click()
    result = page.locator("#analytics-result")
    expect(result.locator('[data-metric="sent"]')).to_have_text(re.compile(r"^[1-9]\d*$"))
    expect(result.locator("canvas")).to_have_count(3)
    expect(result).to_contain_text("per hour")
    assert_controls_labelled(page)
    screenshot(page, "analytics")

    page.goto(f"{web.url}#/campaigns/{campaign['id']}")
    analytics = page.locator("#campaign-analytics")
    expect(analytics.locator('[data-metric="sent"]')).to_have_text("2")
    expect(analytics.locator("canvas")).to_have_count(3)


def test_downloads_of_all_campaigns_and_of_one_campaigns_messages(
        page: Page, web: WebStack) -> None:
    # Needs: GET /campaigns.csv and GET /campaigns/{id}/messages.csv.
    campaign = sent_campaign(web, "Download sale", ["+1 212 555 0151"])
    sign_in(page, web)
    with page.expect_download() as all_campaigns:
        page.get_by_role("button", name="Download all campaigns (CSV)").click()
    assert "Download sale" in Path(all_campaigns.value.path()).read_text(encoding="utf-8")
    page.get_by_role("link", name="Download sale").click()
    with page.expect_download() as messages:
        page.get_by_role("button", name="Download messages (CSV)").click()
    assert messages.value.suggested_filename == f"{campaign['id']}-messages.csv"
    assert "+12125550151" in Path(messages.value.path()).read_text(encoding="utf-8")


# --- issue 7: numbers, skills and the brand's opt-out text ---------------------------------

def test_wizard_lists_the_brands_numbers_and_skills_and_counts_its_opt_out_text(
        page: Page, web: WebStack) -> None:
    # Needs: GET /numbers, GET /skills (campaign managers too) and GET /brand (opt_out_text).
    sign_in(page, web)
    page.get_by_role("link", name="New campaign").first.click()
    expect(page.locator("select#from_number option")).to_have_text([web.sms_number])
    options = page.locator("#skill-options option")
    expect(options).to_have_count(2)
    page.get_by_label("Message text").fill("Hi")
    # "Hi" + newline + "Reply STOP to opt out" = 24 characters
    expect(page.locator("#sms-counter")).to_contain_text("116 characters left")
    expect(page.locator("#sms-counter")).to_contain_text("“Reply STOP to opt out” is added")
    screenshot(page, "wizard-1-compose")


# --- issue 17: SMS templates beside the WhatsApp ones; Settings, "Enable API" -----------------

def archived_template_shown(page: Page, web: WebStack, name: str) -> Locator:
    """An admin creates the WhatsApp template `name`, archives it and shows the archived list."""
    sign_in(page, web, role="admin")
    page.get_by_role("link", name="Templates").click()
    page.get_by_label("Name").fill(name)
    page.get_by_label("Body").fill("Hi {{1}}")
    page.get_by_role("button", name="Create template").click()
    row = page.locator(f'tr[data-template="{name}"]')
    row.get_by_role("button", name=f"Archive {name}").click()
    expect(page.locator("#template-result")).to_contain_text("was archived")
    expect(row).to_have_count(0)
    page.get_by_label("Show archived templates").check()
    return row

def test_sms_templates_and_enabling_the_liveperson_compatible_api(page: Page,
                                                                  web: WebStack) -> None:
    # an admin archives, restores and deletes a WhatsApp template (issue 14.9)
    row = archived_template_shown(page, web, "admin_tidy")
    row.get_by_role("button", name="Restore admin_tidy").click()
    expect(page.locator("#template-result")).to_contain_text("is back in the list")
    page.get_by_label("Show archived templates").uncheck()
    row.get_by_role("button", name="Delete admin_tidy").click()
    page.get_by_role("button", name="Yes, delete admin_tidy").click()
    expect(page.locator("#template-result")).to_contain_text("was deleted")
    expect(row).to_have_count(0)
    page.get_by_label("SMS template title").fill("Renewal")
    page.get_by_label("SMS text").fill("Hi {{1}}, your plan renews soon")
    page.get_by_role("button", name="Save SMS template").click()
    row = page.locator('tr[data-sms-template="Renewal"]')
    expect(row).to_contain_text("Default (id 1234567890)")
    page.get_by_role("link", name="Settings").click()
    page.get_by_role("button", name="Enable API").click()
    result = page.locator("#api-client-result")
    expect(result).to_contain_text("shown only now")
    secret = re.search(r"client secret: (\S+)", result.inner_text())
    assert secret and secret.group(1).startswith("lps_")
    expect(page.locator("#api-client")).to_contain_text("The API is enabled")
    page.get_by_role("button", name="Rotate credentials").click()
    expect(result).to_contain_text("New credentials")
    assert secret.group(1) not in result.inner_text()
    page.get_by_role("button", name="Revoke").click()
    expect(page.locator("#api-client")).to_contain_text("The API is not enabled")
    assert_controls_labelled(page)
    screenshot(page, "settings")


def test_a_list_answer_arriving_late_does_not_overwrite_the_newer_one(page: Page,
                                                                      web: WebStack) -> None:
    """Restoring a template reloads the archived list; unticking "Show archived" right after
    reloads the current one. When the archived answer arrives last, the page still shows the
    current list (it showed "No archived templates." and the restored row vanished)."""
    row = archived_template_shown(page, web, "late_answer")
    row.get_by_role("button", name="Restore late_answer").wait_for()
    held: list[Route] = []

    def hold(route: Route) -> None:
        held.append(route)

    page.route("**/templates?status=ARCHIVED", hold)
    with page.expect_request(lambda r: "status=ARCHIVED" in r.url):
        row.get_by_role("button", name="Restore late_answer").click()
    expect(page.locator("#template-result")).to_contain_text("is back in the list")
    for _ in range(100):  # the route handler runs while playwright waits
        if held:
            break
        page.wait_for_timeout(50)
    assert len(held) == 1  # the archived list's reload, held in the network
    page.get_by_label("Show archived templates").uncheck()
    expect(row.get_by_role("button", name="Delete late_answer")).to_be_visible()
    with page.expect_request_finished(lambda r: "status=ARCHIVED" in r.url):
        held[0].continue_()
    page.evaluate("() => new Promise((done) => setTimeout(done, 200))")  # the late answer's turn
    assert row.count() == 1, page.locator("#templates-list").inner_text()
    row.get_by_role("button", name="Delete late_answer").click()
    page.get_by_role("button", name="Yes, delete late_answer").click()
    expect(page.locator("#template-result")).to_contain_text("was deleted")
