"""Analytics, landing and campaign pages as the product defines them (issue 14 points 1-4, 8, 10),
in chromium against the local stack. The browser runs in Tokyo with a German locale: every date
on the pages must still be the brand's (New York, MM/DD/YYYY)."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Locator, Page, Playwright, expect

from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    WebStack,
    sign_in,
    watch_errors,
)
from tests.browser.test_pages_on_merged_apis import sent_campaign

pytestmark = pytest.mark.browser
NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture
def page(playwright: Playwright) -> Iterator[Page]:
    """A tab of a browser in another time zone and locale than the brand's."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                         args=CHROMIUM_ARGS)
    context = browser.new_context(timezone_id="Asia/Tokyo", locale="de-DE", viewport=DESKTOP)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    errors = watch_errors(tab)
    yield tab
    context.close()
    browser.close()
    assert not errors, f"script errors in the page: {errors}"


def us_day(iso: str) -> str:
    """An API date or instant as the brand writes it: MM/DD/YYYY in New York."""
    moment = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(NEW_YORK)
    return moment.strftime("%m/%d/%Y")


def chart_numbers(chart: Locator) -> dict[str, list[str]]:
    """A chart's data table ("Numbers", folded: read its text), row label -> cells."""
    rows = chart.locator("tbody tr")
    return {(rows.nth(i).locator("th").text_content() or "").strip(): [
        c.strip() for c in rows.nth(i).locator("td").all_text_contents()]
        for i in range(rows.count())}


def consumer_reply(web: WebStack, phone: str, text: str) -> None:
    request = urllib.request.Request(
        web.stack.sandbox.url + "/sandbox/reply", method="POST",
        data=json.dumps({"from": phone, "to": web.sms_number, "body": text}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.loads(response.read())["webhook_status"] == 200


def test_figures_charts_and_dates_follow_the_definitions_and_the_brand(
        page: Page, web: WebStack) -> None:
    phones = [f"+1 212 555 {n:04d}" for n in (301, 302, 303, 304)]
    campaign = sent_campaign(web, "Definitions sale", phones)
    consumer_reply(web, "+12125550301", "STOP")  # received it, then opted out
    consumer_reply(web, "+12125550302", "Is it in blue?")  # a response

    def api(query: str) -> dict[str, Any]:
        status, body = web.http("GET", f"/analytics?{query}")
        assert status == 200, body
        return dict(body)

    assert web.stack.wait_for(lambda: api("range=today")["totals"]["opted_out"] == 1
                              and api("range=today")["totals"]["responded"] == 1, timeout=60)
    today = api("range=today")

    # Landing page: success, response and opt-out rates (the opt-out rate beside its count)
    sign_in(page, web)
    last30 = api("range=last_30_days")
    headline = page.locator("#headline")
    for metric in ("success_rate", "response_rate", "opt_out_rate"):
        expect(headline.locator(f'[data-metric="{metric}"]')).to_have_text(
            f"{last30['rates'][metric] * 100:.1f}%")
    expect(headline).to_contain_text(f"{last30['totals']['opted_out']} consumer")
    row = page.locator("#campaigns-table tbody tr", has_text="Definitions sale")
    # 4 received, 1 responded, 1 opted out: 25.0% each
    expect(row.locator("td").nth(4)).to_have_text("100.0%")
    expect(row.locator("td").nth(5)).to_have_text("25.0%")
    expect(row.locator("td").nth(6)).to_have_text("25.0%")
    launched = web.http("GET", f"/campaigns/{campaign['id']}")[1]["launched_at"]
    expect(row.locator("td").nth(2)).to_contain_text(us_day(launched))

    # The campaign page: its dates are the brand's too
    page.get_by_role("link", name="Definitions sale").click()
    launch = page.locator("dt:text-is('Launch') + dd")
    expect(launch).to_contain_text(us_day(launched))
    expect(launch).to_contain_text(re.compile(r"E[SD]T"))
    expect(page.locator("#campaign-analytics [data-metric='opt_out_rate']")).to_have_text("25.0%")

    # Analytics, today: the tiles and each chart's numbers are the API's
    page.get_by_role("link", name="Analytics", exact=True).click()
    page.get_by_label("Quick range").select_option("today")
    page.get_by_role("button", name="Show").click()
    result = page.locator("#analytics-result")
    expect(result).to_contain_text("per hour")
    rates, totals = today["rates"], today["totals"]
    expect(result.locator('[data-metric="success_rate"]')).to_have_text(
        f"{rates['success_rate'] * 100:.1f}%")
    expect(result.locator('[data-metric="response_rate"]')).to_have_text(
        f"{rates['response_rate'] * 100:.1f}%")
    expect(result.locator('[data-metric="opt_out_rate"]')).to_have_text(
        f"{rates['opt_out_rate'] * 100:.1f}%")
    # no delivery reports on this stack: unknown, not 0.0%
    assert today["not_reported"] == ["delivered", "delivery_rate"]
    expect(result.locator('[data-metric="delivered"]')).to_have_text("not reported")
    expect(result.locator('[data-metric="delivery_rate"]')).to_have_text("not reported")
    expect(result.locator("#chart-consumer-delivery")).to_contain_text("Not reported")
    ds, rs = today["delivery_status"], today["response_status"]
    assert chart_numbers(result.locator("#chart-delivery-status")) == {
        "Total sent": [str(ds["sent"])], "Delivered to the gateway": [str(ds["delivered_gateway"])],
        "Failed": [str(ds["failed"])]}
    assert chart_numbers(result.locator("#chart-response-status")) == {
        "Delivered to the gateway": [str(rs["delivered_gateway"])],
        "With a response": [str(rs["responded"])], "Without a response": [str(rs["not_responded"])]}
    # the messages chart: sent (success vs failed) and responses for each hour of the day
    hours = chart_numbers(result.locator("#chart-messages-sent"))
    assert len(hours) == len(today["series"]) >= 23
    assert [sum(int(cells[0]) + int(cells[1]) for cells in hours.values()),
            sum(int(cells[2]) for cells in hours.values())] == [totals["sent"],
                                                                totals["responded"]]
    assert result.locator("#chart-messages-sent thead th").all_text_contents()[1:] == [
        "Sent: success", "Sent: failed", "Responses"]

    # Since onboarding: the brand's whole history, its dates written MM/DD/YYYY
    whole = api("range=since_onboarding")
    page.get_by_label("Quick range").select_option("since_onboarding")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#analytics-range")).to_contain_text(
        f"{us_day(whole['range']['from'])} to {us_day(whole['range']['to'])}")
    expect(result.locator('[data-metric="sent"]')).to_have_text(str(whole["totals"]["sent"]))

    # Custom dates are typed and shown MM/DD/YYYY (the brand's locale, not the browser's)
    expect(page.get_by_label("From (MM/DD/YYYY)")).to_be_visible()
    day = us_day(today["range"]["from"])
    page.get_by_label("From (MM/DD/YYYY)").fill(day)
    page.get_by_label("To (MM/DD/YYYY)").fill(day)
    expect(page.get_by_label("Quick range")).to_have_value("custom")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#analytics-range")).to_have_text(
        f"{day} to {day} (America/New_York), per hour")
    expect(result.locator('[data-metric="sent"]')).to_have_text(str(totals["sent"]))


@pytest.fixture
def brand_window(web: WebStack) -> Iterator[None]:
    """The brand's default sending window is 09:30-19:00 for the test (then 08:00-21:00 again)."""
    admin = web.key("admin")
    status, _ = web.http("PUT", "/brand", {"window": {"start": "09:30", "end": "19:00"}},
                         key=admin)
    assert status == 200
    yield
    web.http("PUT", "/brand", {"window": {"start": "08:00", "end": "21:00"}}, key=admin)


def test_completed_is_not_the_grey_of_cancelled(page: Page, web: WebStack) -> None:
    done = sent_campaign(web, "Completed sale", ["+1 212 555 0311"])
    assert web.stack.wait_for(
        lambda: web.http("GET", f"/campaigns/{done['id']}")[1]["status"] == "COMPLETED",
        timeout=30)
    status, dropped = web.http("POST", "/campaigns", {
        "name": "Dropped sale", "channel": "sms", "from_number": web.sms_number,
        "skill": "sales", "text": "Dropped"})
    assert status == 201
    web.http("POST", f"/campaigns/{dropped['id']}/recipients", "+1 212 555 0312",
             content_type="text/plain")
    assert web.http("POST", f"/campaigns/{dropped['id']}/launch", {"consent": True})[0] == 200
    assert web.http("POST", f"/campaigns/{dropped['id']}/cancel")[0] == 200

    sign_in(page, web)
    colour = "el => getComputedStyle(el).backgroundColor"
    completed = page.locator("#campaigns-table tr", has_text="Completed sale").locator(".badge")
    cancelled = page.locator("#campaigns-table tr", has_text="Dropped sale").locator(".badge")
    expect(completed).to_have_text("COMPLETED")
    expect(cancelled).to_have_text("CANCELLED")
    assert completed.evaluate(colour) != cancelled.evaluate(colour)


def test_on_a_phone_a_wide_table_says_that_it_scrolls(page: Page, web: WebStack) -> None:
    sent_campaign(web, "Scrolling sale", ["+1 212 555 0331"])
    sign_in(page, web)
    expect(page.locator("#campaigns-table")).to_be_visible()
    hint = page.get_by_text("Scroll sideways to see every column")
    expect(hint).to_be_hidden()  # at 1280 px the table fits
    page.set_viewport_size(PHONE)
    expect(hint).to_be_visible()
    wrap = page.locator("#campaign-list .table-wrap")
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")


def start_wizard(page: Page, web: WebStack, name: str) -> None:
    sign_in(page, web)
    page.get_by_role("link", name="New campaign").first.click()
    page.get_by_label("Campaign name").fill(name)
    page.locator("#from_number").select_option(web.sms_number)
    page.get_by_label("Route replies to skill").fill("sales")
    page.get_by_label("Message text").fill(f"{name}: a long offer text for the table")
    page.get_by_role("button", name="Next").click()


def lines_of(cell: Locator, text: str) -> int:
    """On how many lines the browser shows `text` within the cell."""
    return int(cell.evaluate("""(el, text) => {
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        let node, all = [];
        while ((node = walker.nextNode())) all.push(node);
        const whole = all.map((n) => n.data).join("");
        let at = whole.indexOf(text);
        if (at < 0) return -1;
        const range = document.createRange();
        let end = at + text.length, seen = 0;
        for (const n of all) {
            if (seen <= at && at <= seen + n.data.length) range.setStart(n, at - seen);
            if (seen <= end && end <= seen + n.data.length) { range.setEnd(n, end - seen); break; }
            seen += n.data.length;
        }
        return new Set([...range.getClientRects()].filter((r) => r.width > 0)
            .map((r) => Math.round(r.top))).size; }""", text))


def test_the_parse_table_keeps_phone_numbers_whole_and_next_twice_shows_one_error(
        page: Page, web: WebStack) -> None:
    page.set_viewport_size(PHONE)
    start_wizard(page, web, "Small things")
    page.get_by_label("Recipients", exact=True).fill(
        "+1 212 555 0321, Hi Ann: a rather long personal text that fills the message column\n"
        "+1 212 555")
    page.get_by_role("button", name="Parse").click()
    expect(page.locator("#parse-summary")).to_contain_text("1 recipient ready")
    # the number as typed (Input) and as understood (Number), each on one line
    for line, column, phone in (("1", 0, "+1 212 555 0321"), ("1", 1, "+12125550321"),
                                ("2", 0, "+1 212 555")):
        cell = page.locator(f'#parse-table tr[data-line="{line}"] td').nth(column)
        assert lines_of(cell, phone) == 1, f"{phone} is broken across lines"
    page.set_viewport_size(DESKTOP)

    page.get_by_role("button", name="Next").click()
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#parse-result").get_by_text("Correct the lines with errors")
           ).to_have_count(1)


def test_the_schedule_starts_from_the_brands_window_and_one_message_is_singular(
        page: Page, web: WebStack, brand_window: None) -> None:
    status, created = web.http("POST", "/campaigns", {
        "name": "API default window", "channel": "sms", "from_number": web.sms_number,
        "skill": "sales", "text": "Default window"})
    assert status == 201 and created["schedule"]["window"] == {"start": "09:30", "end": "19:00"}
    start_wizard(page, web, "Brand window")
    page.get_by_label("Recipients", exact=True).fill("+1 212 555 0321")
    page.get_by_role("button", name="Parse").click()
    expect(page.locator("#parse-summary")).to_contain_text("1 recipient ready")
    page.get_by_role("button", name="Next").click()
    expect(page.get_by_label("From", exact=True)).to_have_value("09:30")
    expect(page.get_by_label("Until")).to_have_value("19:00")
    page.get_by_label("Send rate (messages per second)").fill("1")
    expect(page.locator("#estimate")).to_contain_text("1 recipient at 1 message/second")
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#preview dt:text-is('Send rate') + dd")).to_have_text("1 message/second")
    expect(page.locator("#preview dt:text-is('Window') + dd")).to_contain_text("09:30–19:00")
    page.get_by_role("button", name="Discard").click()
