"""schemathesis hooks for the contract run (loaded through SCHEMATHESIS_HOOKS by test_fuzz.py).

They only touch *positive* cases, and only for rules no JSON Schema can state because they
depend on the brand's data or on the clock: an integrator sends its own numbers, skills and
time zone, a launch time ahead, a window that starts before it ends, dates in order, phone
numbers that exist in the numbering plan, and never invents a pagination cursor. Everything a
schema can state is in the document itself (chalicelib/api/openapi.py). Negative cases are sent
as generated.
"""

from __future__ import annotations

import os
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import schemathesis

SMS_NUMBER = os.environ.get("CONTRACT_SMS_NUMBER", "+12125550100")
SKILL = os.environ.get("CONTRACT_SKILL", "support")
REFERENCES = {"from_number": SMS_NUMBER, "skill": SKILL, "default_skill": SKILL,
              "time_zone": "America/New_York"}


def _phone() -> str:
    # 555-01xx numbers are valid and reserved for fiction in the North American plan.
    return f"+1212555{random.randint(100, 199):04d}"


def _window(window: Any) -> None:
    if isinstance(window, dict) and window.get("start", "08:00") >= window.get("end", "21:00"):
        window["start"], window["end"] = "08:00", "21:00"


def _campaign(body: dict[str, Any], patch: bool) -> None:
    # The demo brand sends SMS only (no WhatsApp number or approved template).
    if not patch or "channel" in body or "template_id" in body:
        body["channel"] = "sms"
    for name in ("template_id", "fallback_from_number"):
        body.pop(name, None)
    if not patch or "text" in body:
        body["text"] = body.get("text") or "Hello {{name}}"
    for name, value in list(body.items()):
        if name in REFERENCES:
            body[name] = REFERENCES[name]
        elif value is None and patch:
            del body[name]  # null resets a field; name and channel cannot be reset
    schedule = body.get("schedule")
    if isinstance(schedule, dict):
        if schedule.get("launch_at"):
            schedule["launch_at"] = (datetime.now(UTC) + timedelta(days=1)).isoformat()
        _window(schedule.get("window"))
    if patch and not body:
        body["name"] = "Renamed"


def _recipients(body: dict[str, Any]) -> None:
    # JSON recipients: numbers of the numbering plan, each new (a number already in the list
    # is a line error), the campaign's own text (an SMS campaign of the demo brand).
    for recipient in body.get("recipients") or []:
        if isinstance(recipient, dict):
            recipient["phone"] = f"+1212{random.randint(2_000_000, 9_999_999)}"
            recipient.pop("variables", None)
            recipient.pop("text", None)


def _body(method: str, path: str, body: dict[str, Any]) -> None:
    if path in ("/campaigns", "/campaigns/{campaign_id}"):
        _campaign(body, patch=method == "PATCH")
        body.pop("status_callback_url", None)  # the integrator's own server, not a made-up one
    elif path == "/campaigns/{campaign_id}/recipients":
        _recipients(body)
    elif path == "/recipients/parse":
        body["channel"], body["text"] = "sms", body.get("text") or "Hello"
        body.pop("template_id", None)
    elif path == "/brand":
        for name in ("time_zone", "default_skill"):
            if body.get(name) is not None:
                body[name] = REFERENCES[name]
        _window(body.get("window"))
    elif path == "/numbers":
        body["number"] = _phone()
        body["channel"], body["kind"] = "sms", None
    elif path == "/templates":
        body["body"] = "Hello {{1}}"
    elif path.startswith("/sms-templates") and "text" in body:
        body["text"] = "Hello {{1}}"  # placeholders numbered from 1 (no schema can say it)


def _query(path: str, query: dict[str, Any]) -> None:
    query.pop("cursor", None)
    if path.endswith("/analytics"):
        if query.get("from") or query.get("to"):
            query.pop("range", None)
            query["from"], query["to"] = "2026-11-01", "2026-11-30"
        else:
            query.pop("from", None)
            query.pop("to", None)
        if query.get("skills") is not None:
            query["skills"] = SKILL
    if path == "/conversations" and query.get("skill"):
        query["skill"] = SKILL
    if path == "/optouts" and query.get("phone"):
        query["phone"] = _phone()


@schemathesis.hook
def map_case(ctx: Any, case: Any) -> Any:
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return case
    path, method = case.operation.path, case.method.upper()
    if isinstance(case.body, dict):
        _body(method, path, case.body)
    if isinstance(case.query, dict):
        _query(path, case.query)
    if "phone" in (case.path_parameters or {}):
        case.path_parameters["phone"] = _phone()
    if isinstance(case.headers, dict) and "Idempotency-Key" in case.headers:
        # an integrator gives each new request a new key (a reused one is refused with 422)
        case.headers["Idempotency-Key"] = str(uuid.uuid4())
    return case


@schemathesis.hook
def before_load_schema(ctx: Any, raw_schema: dict[str, Any]) -> None:
    """The runs send no Idempotency-Key. Its rules (a retry with the key gets the first answer,
    another request with it 422) are kept by tests/service/integrations/test_idempotency.py
    and tests/e2e/test_integrations_e2e.py; here the coverage phase would send one example key
    with many different bodies, which the API rightly refuses with 422, and hooks cannot give
    each of that phase's requests a key of its own."""
    for operations in raw_schema.get("paths", {}).values():
        for operation in operations.values():
            if isinstance(operation, dict) and "parameters" in operation:
                operation["parameters"] = [p for p in operation["parameters"]
                                           if p.get("name") != "Idempotency-Key"]
