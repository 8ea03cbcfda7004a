"""A CSV upload on the running local stack: pre-signed PUT over HTTP, the S3 pump, the parse."""

from __future__ import annotations

import urllib.request
from typing import Any

from infra.local_stack import LocalStack
from tests.e2e.conftest import Http


def test_uploaded_csv_is_parsed_and_its_bad_lines_listed(stack: LocalStack,
                                                         demo: dict[str, Any],
                                                         http: Http) -> None:
    status, campaign = http("POST", "/campaigns", {
        "name": "Upload", "channel": "sms", "from_number": demo["numbers"]["sms"][0],
        "skill": "sales", "text": "Spring sale"})
    assert status == 201, campaign
    cid = campaign["id"]
    status, upload = http("POST", f"/campaigns/{cid}/recipients/upload")
    assert status == 201, upload
    data = b"phone\r\n+1 212 555 0101\r\n12125550101\r\n+1 212 555 0102\r\n"
    request = urllib.request.Request(upload["url"], data=data, method="PUT",
                                     headers=upload["headers"])
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200

    def parsed() -> dict[str, Any] | None:
        state = http("GET", f"/campaigns/{cid}")[1]["upload"]
        return state if state["status"] in ("DONE", "FAILED") else None

    state = stack.wait_for(parsed, timeout=60)
    assert state and state["status"] == "DONE", state
    assert (state["accepted"], state["rejected"]) == (2, 1)
    status, errors = http("GET", f"/campaigns/{cid}/recipients?errors=true")
    assert [(e["line"], e["errors"][0]["code"]) for e in errors["items"]] == [
        (3, "DUPLICATE_NUMBER")]
