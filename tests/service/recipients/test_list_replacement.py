"""A replaced list is replaced, whatever the timing (issue 11 point 1): the rows a launch
schedules are exactly the list the campaign shows.

Each pair of writers (a CSV upload being stored, a typed list, a newer upload, a launch) is
played in both orders. The store under test runs in a thread and is held at a chosen AWS call
by an observer of tests/awscalls.py (it blocks the calling thread until released), so each
interleaving is deterministic. What is asserted is what users see: the campaign's recipient
count, the recipients page, and the phones the sandbox gateway received after launch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from chalicelib.services import jobs
from chalicelib.services import recipients as recipient_lists
from chalicelib.store.models import CampaignModel
from local.sandbox import SandboxServer
from tests import awscalls
from tests.conftest import Api, Brand, campaign_body
from tests.service.recipients.test_csv_upload import _pump, _put
from tests.service.test_send_once import _drain_send_queue

BIG = [f"+1213555{n:04d}" for n in range(80)]  # the CSV being stored
TYPED = ["+12125550101", "+12125550102", "+12125550103"]  # typed instead
OLD = ["+12125550111", "+12125550112"]  # a list stored before


class Hold:
    """Holds every matching AWS call, from the (after + 1)-th on, until released."""

    def __init__(self, when: Callable[[str, dict[str, Any]], bool], after: int = 0) -> None:
        self.when, self.after = when, after
        self.calls = 0
        self.lock = threading.Lock()
        self.reached = threading.Event()
        self.go = threading.Event()

    def __call__(self, service: str, operation: str, params: dict[str, Any],
                 function: str | None) -> None:
        if not self.when(operation, params):
            return
        with self.lock:
            self.calls += 1
            held = self.calls > self.after
        if held:
            self.reached.set()
            assert self.go.wait(60), "never released"

    @contextmanager
    def installed(self) -> Iterator[Hold]:
        awscalls.observers.append(self)
        try:
            yield self
        finally:
            self.go.set()
            awscalls.observers.remove(self)


def puts_of(phones: list[str]) -> Callable[[str, dict[str, Any]], bool]:
    """A BatchWriteItem putting recipients among `phones`."""
    wanted = set(phones)

    def match(operation: str, params: dict[str, Any]) -> bool:
        if operation != "BatchWriteItem":
            return False
        for requests in params.get("RequestItems", {}).values():
            for request in requests:
                item = request.get("PutRequest", {}).get("Item", {})
                if item.get("phone", {}).get("S") in wanted:
                    return True
        return False
    return match


def in_thread(target: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(target()), daemon=True)
    thread.start()
    return thread, result


def wait_until(condition: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.05)


def list_marker(brand: Brand, cid: str) -> Any:
    """The campaign's list id as stored (None where the campaign keeps none)."""
    item = boto3.session.Session(region_name="us-east-1").client(
        "dynamodb", endpoint_url=CampaignModel.Meta.host).get_item(
        TableName=CampaignModel.Meta.table_name, ConsistentRead=True,
        Key={"brand_id": {"S": brand.brand_id}, "campaign_id": {"S": cid}})["Item"]
    return item.get("list_id")


def draft(api: Api, brand: Brand, typed: list[str] | None = None) -> str:
    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body(
        schedule={"send_rate": 50, "window": {"start": "00:00", "end": "24:00"}}))
    assert status == 201, body
    cid = str(body["id"])
    if typed:
        assert typed_list(api, brand, cid, typed)[0] == 200
    return cid


def typed_list(api: Api, brand: Brand, cid: str, phones: list[str]) -> tuple[int, Any]:
    return api.call("POST", f"/campaigns/{cid}/recipients", brand, body="\n".join(phones),
                    content_type="text/plain")


class Upload:
    """A CSV upload of `phones`: the PUT, then the parse (what S3's notification runs)."""

    def __init__(self, api: Api, brand: Brand, aws: dict[str, str], cid: str,
                 phones: list[str]) -> None:
        status, upload = api.call("POST", f"/campaigns/{cid}/recipients/upload", brand)
        assert status == 201, upload
        self.data = ("phone\n" + "\n".join(phones) + "\n").encode()
        assert _put(upload, self.data) == 204
        self.key = recipient_lists.upload_key(brand.brand_id, cid, upload["upload_id"])
        self.aws = aws

    def parse(self) -> Any:
        return _pump(self.aws).deliver(self.key, len(self.data), "etag")


def shown(api: Api, brand: Brand, cid: str) -> tuple[int, list[str]]:
    """(recipient count, phones on the recipients pages) as the tool shows them."""
    status, campaign = api.call("GET", f"/campaigns/{cid}", brand)
    assert status == 200, campaign
    phones: list[str] = []
    cursor = ""
    while True:
        status, page = api.call("GET", f"/campaigns/{cid}/recipients?limit=50{cursor}", brand)
        assert status == 200, page
        phones += [item["phone"] for item in page["items"]]
        if not page["next_cursor"]:
            return int(campaign["recipients"]), sorted(phones)
        cursor = f"&cursor={page['next_cursor']}"


def launch_and_send(api: Api, brand: Brand, cid: str, sandbox: SandboxServer) -> list[str]:
    status, body = api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    assert status == 200, body
    jobs.launch(brand.brand_id, cid)
    _drain_send_queue(cid, seconds=120)
    return sorted(m["to"] for m in sandbox.sandbox.snapshot())


def assert_only(api: Api, brand: Brand, cid: str, sandbox: SandboxServer,
                phones: list[str]) -> None:
    assert shown(api, brand, cid) == (len(phones), sorted(phones))
    assert launch_and_send(api, brand, cid, sandbox) == sorted(phones)


# --- a CSV being stored vs a typed list ---------------------------------------------------------

def test_a_typed_list_given_while_a_csv_is_being_stored_is_the_list_sent(
        api: Api, brand: Brand, aws: dict[str, str], sandbox: SandboxServer) -> None:
    cid = draft(api, brand)
    upload = Upload(api, brand, aws, cid, BIG)
    with Hold(puts_of(BIG), after=2).installed() as hold:
        parse, _ = in_thread(upload.parse)
        assert hold.reached.wait(30)
        before = list_marker(brand, cid)
        typed, answer = in_thread(lambda: typed_list(api, brand, cid, TYPED))
        wait_until(lambda: not typed.is_alive() or list_marker(brand, cid) != before)
        hold.go.set()
        parse.join(60)
        typed.join(60)
    status, body = answer[0]
    assert status == 200 and body["accepted"] == 3, body
    assert_only(api, brand, cid, sandbox, TYPED)


def test_a_csv_stored_while_a_typed_list_is_being_stored_is_the_list_sent(
        api: Api, brand: Brand, aws: dict[str, str], sandbox: SandboxServer) -> None:
    cid = draft(api, brand)
    upload = Upload(api, brand, aws, cid, BIG)  # started first; its file lands during the list
    typed_phones = [f"+1212555{n:04d}" for n in range(200, 230)]
    with Hold(puts_of(typed_phones)).installed() as hold:
        typed, answer = in_thread(lambda: typed_list(api, brand, cid, typed_phones))
        assert hold.reached.wait(30)
        before = list_marker(brand, cid)
        parse, _ = in_thread(upload.parse)
        wait_until(lambda: not parse.is_alive() or list_marker(brand, cid) != before)
        hold.go.set()
        typed.join(60)
        parse.join(60)
    status, body = answer[0]
    if status == 200:  # the typed list was stored before the file was: it stays the list
        assert_only(api, brand, cid, sandbox, typed_phones)
    else:
        assert status == 409 and "replaced" in body["error"]["message"], body
        assert_only(api, brand, cid, sandbox, BIG)


# --- a CSV being stored vs a newer upload -------------------------------------------------------

def test_a_newer_upload_parsed_while_a_csv_is_being_stored_is_the_list_sent(
        api: Api, brand: Brand, aws: dict[str, str], sandbox: SandboxServer) -> None:
    cid = draft(api, brand)
    first = Upload(api, brand, aws, cid, BIG)
    with Hold(puts_of(BIG), after=2).installed() as hold:
        parse, _ = in_thread(first.parse)
        assert hold.reached.wait(30)
        second = Upload(api, brand, aws, cid, TYPED)
        before = list_marker(brand, cid)
        newer, _ = in_thread(second.parse)
        wait_until(lambda: not newer.is_alive() or list_marker(brand, cid) != before)
        hold.go.set()
        parse.join(60)
        newer.join(60)
    status, campaign = api.call("GET", f"/campaigns/{cid}", brand)
    assert campaign["upload"]["status"] == "DONE", campaign["upload"]
    assert_only(api, brand, cid, sandbox, TYPED)


def test_a_csv_whose_store_ends_after_a_newer_upload_began_is_not_the_list(
        api: Api, brand: Brand, aws: dict[str, str], sandbox: SandboxServer) -> None:
    cid = draft(api, brand, OLD)
    first = Upload(api, brand, aws, cid, BIG)
    with Hold(puts_of(BIG), after=2).installed() as hold:
        parse, _ = in_thread(first.parse)
        assert hold.reached.wait(30)
        second = Upload(api, brand, aws, cid, TYPED)  # requested, its file not parsed yet
        hold.go.set()
        parse.join(60)
    # the first file's rows are nobody's list: nothing is shown and launch waits for the file
    assert shown(api, brand, cid) == (0, [])
    status, body = api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    assert status == 409 and body["error"]["code"] == "UPLOAD_NOT_DONE", body
    second.parse()
    assert_only(api, brand, cid, sandbox, TYPED)


# --- a list being stored vs launch --------------------------------------------------------------

def test_launch_pressed_while_a_list_is_being_stored_waits_for_it(
        api: Api, brand: Brand, aws: dict[str, str], sandbox: SandboxServer) -> None:
    cid = draft(api, brand, OLD)
    new = [f"+1212555{n:04d}" for n in range(200, 230)]
    with Hold(puts_of(new), after=1).installed() as hold:
        typed, answer = in_thread(lambda: typed_list(api, brand, cid, new))
        assert hold.reached.wait(30)
        status, body = api.call("POST", f"/campaigns/{cid}/launch", brand,
                                json_body={"consent": True})
        hold.go.set()
        typed.join(60)
    assert status == 409 and "being stored" in body["error"]["message"], body
    assert answer[0][0] == 200, answer
    assert_only(api, brand, cid, sandbox, new)


def test_a_list_given_as_another_user_launches_is_refused_and_the_shown_list_is_sent(
        api: Api, brand: Brand, aws: dict[str, str], sandbox: SandboxServer) -> None:
    cid = draft(api, brand, OLD)
    new = [f"+1212555{n:04d}" for n in range(200, 230)]
    typed_thread: list[int] = []
    writes = ("UpdateItem", "BatchWriteItem", "PutItem", "DeleteItem", "TransactWriteItems")

    def first_write(operation: str, params: dict[str, Any]) -> bool:
        # the typed list's request, held at its first write (after it read the DRAFT)
        return operation in writes and threading.get_ident() in typed_thread

    def give() -> Any:
        typed_thread.append(threading.get_ident())
        return typed_list(api, brand, cid, new)

    with Hold(first_write).installed() as hold:
        typed, answer = in_thread(give)
        assert hold.reached.wait(30)
        status, body = api.call("POST", f"/campaigns/{cid}/launch", brand,
                                json_body={"consent": True})
        assert status == 200, body
        hold.go.set()
        typed.join(60)
    status, body = answer[0]
    assert status == 409, body
    assert shown(api, brand, cid) == (2, sorted(OLD))
    jobs.launch(brand.brand_id, cid)
    _drain_send_queue(cid, seconds=120)
    assert sorted(m["to"] for m in sandbox.sandbox.snapshot()) == sorted(OLD)


def test_a_store_that_died_holds_the_campaign_until_its_lease_ends(
        api: Api, brand: Brand, aws: dict[str, str], sandbox: SandboxServer) -> None:
    from chalicelib.store.models import ListWriterAttribute

    cid = draft(api, brand, OLD)
    stored = CampaignModel.get(brand.brand_id, cid)
    # a parse that died while writing list 7: nothing gives its slot up but its lease's end
    stored.update(actions=[CampaignModel.list_id.set(7), CampaignModel.recipients_total.set(0),
                           CampaignModel.list_writer.set(ListWriterAttribute(
                               list_id=7, expires_at=time.time() + 600))])
    status, body = api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    assert status == 409 and body["error"]["code"] == "LIST_BEING_STORED", body
    status, body = typed_list(api, brand, cid, TYPED)
    assert status == 409 and body["error"]["code"] == "LIST_BEING_STORED", body
    assert "give the list again" in body["error"]["message"]

    stored.update(actions=[CampaignModel.list_writer.expires_at.set(  # type: ignore[attr-defined]
        time.time() - 1)])
    assert typed_list(api, brand, cid, TYPED)[0] == 200
    assert_only(api, brand, cid, sandbox, TYPED)


def test_the_launch_job_sends_only_the_campaigns_list_and_deletes_stray_lines(
        api: Api, brand: Brand, aws: dict[str, str], sandbox: SandboxServer) -> None:
    from chalicelib.store.models import MessageModel

    cid = draft(api, brand, OLD)
    status, body = api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    assert status == 200, body
    # a line of an older list that no store deleted (e.g. written before lists had ids)
    MessageModel(cid, "+12125550199", brand_id=brand.brand_id, skill="sales", channel="sms",
                 text="stale", status="PENDING", created_at=time.time()).save()
    jobs.launch(brand.brand_id, cid)
    _drain_send_queue(cid, seconds=120)
    assert sorted(m["to"] for m in sandbox.sandbox.snapshot()) == sorted(OLD)
    assert MessageModel.count(cid, consistent_read=True) == len(OLD)
