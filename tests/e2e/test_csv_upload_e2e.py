"""A CSV upload on the running local stack: pre-signed form POST over HTTP, the S3 pump, the
parse."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any

from local.local_stack import LocalStack
from tests.e2e.conftest import Http
from tests.uploads import post_file


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
    # the local web tool's origin (the API's) may post the form from a browser; another may not
    for origin, allowed in ((stack.api_url, 200), ("http://127.0.0.1:1", 403)):
        preflight = urllib.request.Request(upload["url"], method="OPTIONS", headers={
            "Origin": origin, "Access-Control-Request-Method": "POST"})
        try:
            with urllib.request.urlopen(preflight, timeout=30) as response:
                assert (response.status, response.headers["Access-Control-Allow-Origin"]) == (
                    allowed, origin)
        except urllib.error.HTTPError as error:
            assert error.code == allowed
    assert post_file(upload, data, timeout=30) == 204

    def parsed() -> dict[str, Any] | None:
        state = http("GET", f"/campaigns/{cid}")[1]["upload"]
        return state if state["status"] in ("DONE", "FAILED") else None

    state = stack.wait_for(parsed, timeout=60)
    assert state and state["status"] == "DONE", state
    assert (state["accepted"], state["rejected"]) == (2, 1)
    status, errors = http("GET", f"/campaigns/{cid}/recipients?errors=true")
    assert [(e["line"], e["errors"][0]["code"]) for e in errors["items"]] == [
        (3, "DUPLICATE_NUMBER")]
