"""A launch fan-out that runs longer than the grace is not asked for again while it is alive
(issue 15: a 100,000-row fan-out outlived FANOUT_GRACE_SECONDS; the release schedule asked for
it again and a second launch job ran beside the first, failing its transactions on the rows the
first had moved, and delaying every other campaign's launch behind both on the control queue)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from chalicelib.config import reset_settings
from chalicelib.services import jobs, minutely
from chalicelib.store import campaigns, messages
from tests.conftest import Api, Brand, campaign_body
from tests.service.recipients.test_csv_upload import _upload

GRACE_SECONDS = 3.0  # renewed every 0.75 s: a renewal late by 2 s under load still holds
# New York area codes x the fictional 555-0100..0199 lines.
AREAS = ("212", "646", "718", "917", "347", "929", "315", "516", "585", "607", "631", "716",
         "845", "914", "518", "332", "680", "838")


@pytest.fixture(autouse=True)
def short_grace(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FANOUT_GRACE_SECONDS", str(GRACE_SECONDS))
    reset_settings()
    yield


def test_a_long_fan_out_renews_its_lease_and_is_not_asked_for_twice(
        api: Api, brand: Brand, aws: dict[str, str]) -> None:
    phones = [f"+1{area}5550{line}" for area in AREAS for line in range(100, 200)]
    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body(
        schedule={"send_rate": 5, "window": {"start": "00:00", "end": "24:00"}}))
    cid = str(body["id"])
    stored = _upload(api, brand, aws, cid, ("phone\n" + "\n".join(phones) + "\n").encode())
    assert stored["upload"]["status"] == "DONE", stored["upload"]
    status, body = api.call("POST", f"/campaigns/{cid}/launch", brand, json_body={"consent": True})
    assert status == 200, body

    began = time.time()
    job = threading.Thread(target=jobs.launch, args=(brand.brand_id, cid))
    job.start()
    asked_again = 0
    while job.is_alive():  # the release schedule, ticking while the job works
        asked_again += minutely.resume_stalled_fanouts(time.time())
        time.sleep(0.1)
    job.join()
    took = time.time() - began

    # (outliving the grace by half of it: without the renewals it is asked for again)
    assert took > 1.5 * GRACE_SECONDS, f"the fan-out took {took:.1f} s: too quick to show anything"
    assert asked_again == 0
    assert list(campaigns.stalled_fanouts(time.time() + 3600)) == []  # finished: off the index
    statuses = {m.status for m in messages.iter_campaign(cid, consistent=True)}
    assert statuses <= {"SCHEDULED", "QUEUED"} and len(phones) == len(
        list(messages.iter_campaign(cid)))
