"""The sandbox messaging gateway: a local HTTP server that speaks Twilio's Messages API.

It records every message with the instant it arrived and answers like Twilio (sid, status), so
the real twilio client talks to it over HTTP, pointed here by configuration only.

Inspect: GET /sandbox/messages (JSON list); DELETE /sandbox/messages clears the record.

Look-ups, as Twilio answers them (the send path reconciles ambiguous sends with these):
GET /2010-04-01/Accounts/{sid}/Messages.json?To=&From=&DateSent>=&DateSent<=&PageSize= (newest
first) and GET /2010-04-01/Accounts/{sid}/Messages/{MessageSid}.json.

Fault injection (`POST /sandbox/faults` with a JSON object, or `SandboxServer(faults=...)` /
`LocalStack(faults=...)`; `GET` shows it, `DELETE` clears it). Shares are probabilities per
send request, drawn in this order:
  server_error          answer 500 (code 20500); the message is NOT taken
  rate_limited          answer 429 (code 20429); the message is NOT taken
  timeout_after_accept  take the message, then hold the answer `hang_seconds` (longer than the
                        client's timeout): the sender cannot know it was taken
  slow                  answer normally after `slow_seconds`
  not_whatsapp          list of numbers (E.164) that are not on WhatsApp: a whatsapp: send to
                        them answers 400 code 63003
  number_errors         {number: Twilio error code} answered 400 for that To (e.g. 21211
                        invalid number, 21610 unsubscribed, 30007 filtered)
  seed                  seeds the random draws (repeatable runs)
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlparse

MESSAGES_PATH = "/2010-04-01/Accounts/"


@dataclass
class SandboxMessage:
    sid: str
    account_sid: str
    to: str
    from_: str
    body: str | None
    status: str
    received_at: float
    status_callback: str | None = None
    validity_period: int | None = None
    content_sid: str | None = None
    content_variables: str | None = None
    params: dict[str, str] = field(default_factory=dict)

    def twilio_json(self) -> dict[str, Any]:
        created = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(self.received_at))
        return {
            "sid": self.sid, "account_sid": self.account_sid, "to": self.to,
            "from": self.from_, "body": self.body, "status": self.status,
            "date_created": created, "date_updated": created, "date_sent": created,
            "direction": "outbound-api", "num_segments": "1", "error_code": None,
            "error_message": None, "messaging_service_sid": None, "price": None,
            "uri": f"{MESSAGES_PATH}{self.account_sid}/Messages/{self.sid}.json",
        }


@dataclass
class Faults:
    """What the sandbox does wrong on purpose (see the module doc)."""

    server_error: float = 0.0
    rate_limited: float = 0.0
    timeout_after_accept: float = 0.0
    hang_seconds: float = 12.0
    slow: float = 0.0
    slow_seconds: float = 1.0
    not_whatsapp: list[str] = field(default_factory=list)
    number_errors: dict[str, int] = field(default_factory=dict)
    seed: int | None = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faults:
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault settings: {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data)


class Sandbox:
    def __init__(self, faults: Faults | None = None) -> None:
        self.lock = threading.Lock()
        self.messages: list[SandboxMessage] = []
        self.set_faults(faults or Faults())
        self.refused = 0  # send requests answered with an injected error

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        self.random = random.Random(faults.seed)

    def _draw(self) -> str | None:
        f = self.faults
        with self.lock:
            roll = self.random.random()
        for name, share in (("server_error", f.server_error), ("rate_limited", f.rate_limited),
                            ("timeout_after_accept", f.timeout_after_accept),
                            ("slow", f.slow)):
            if roll < share:
                return name
            roll -= share
        return None

    def accept(self, account_sid: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        to, from_ = form.get("To", ""), form.get("From", "")
        if not to or not from_:
            return 400, {"code": 21604, "message": "A 'To' and 'From' phone number is required.",
                         "status": 400}
        if to.startswith("whatsapp:") and to.removeprefix("whatsapp:") in self.faults.not_whatsapp:
            return 400, {"code": 63003, "message": "Channel could not find To address",
                         "status": 400}
        code = self.faults.number_errors.get(to.removeprefix("whatsapp:"))
        if code:
            return 400, {"code": int(code), "message": f"sandbox error {code} for {to}",
                         "status": 400}
        fault = self._draw()
        if fault == "server_error":
            self.refused += 1
            return 500, {"code": 20500, "message": "Internal Server Error", "status": 500}
        if fault == "rate_limited":
            self.refused += 1
            return 429, {"code": 20429, "message": "Too Many Requests", "status": 429}
        if fault == "slow":
            time.sleep(self.faults.slow_seconds)
        status, payload = self._take(account_sid, form, to, from_)
        if fault == "timeout_after_accept":
            time.sleep(self.faults.hang_seconds)
        return status, payload

    def find(self, account_sid: str, query: dict[str, str]) -> list[dict[str, Any]]:
        """Messages.json filters: To, From, DateSent, DateSent<, DateSent> (newest first)."""
        def instant(value: str) -> float:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()

        with self.lock:
            found = [m for m in self.messages if m.account_sid == account_sid]
        if query.get("To"):
            found = [m for m in found if m.to == query["To"]]
        if query.get("From"):
            found = [m for m in found if m.from_ == query["From"]]
        if query.get("DateSent"):
            day = query["DateSent"][:10]
            found = [m for m in found if time.strftime("%Y-%m-%d", time.gmtime(m.received_at))
                     == day]
        if query.get("DateSent>"):
            found = [m for m in found if m.received_at >= instant(query["DateSent>"])]
        if query.get("DateSent<"):
            found = [m for m in found if m.received_at <= instant(query["DateSent<"])]
        found.sort(key=lambda m: m.received_at, reverse=True)
        size = int(query.get("PageSize") or 50)
        return [m.twilio_json() for m in found[:size]]

    def fetch(self, account_sid: str, sid: str) -> SandboxMessage | None:
        with self.lock:
            return next((m for m in self.messages
                         if m.sid == sid and m.account_sid == account_sid), None)

    def _take(self, account_sid: str, form: dict[str, str], to: str,
              from_: str) -> tuple[int, dict[str, Any]]:
        message = SandboxMessage(
            sid="SM" + uuid.uuid4().hex, account_sid=account_sid, to=to, from_=from_,
            body=form.get("Body"), status="queued", received_at=time.time(),
            status_callback=form.get("StatusCallback"),
            validity_period=int(form["ValidityPeriod"]) if form.get("ValidityPeriod") else None,
            content_sid=form.get("ContentSid"), content_variables=form.get("ContentVariables"),
            params=form,
        )
        with self.lock:
            self.messages.append(message)
        return 201, message.twilio_json()

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return [asdict(m) for m in self.messages]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()


def _handler(sandbox: Sandbox) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
            return

        def _send(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            path = url.path
            if path.startswith(MESSAGES_PATH) and path.endswith(".json"):
                account_sid, _, rest = path[len(MESSAGES_PATH):].partition("/")
                if rest == "Messages.json":
                    query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                    found = sandbox.find(account_sid, query)
                    self._send(200, {"messages": found, "next_page_uri": None, "page": 0,
                                     "page_size": len(found), "start": 0, "uri": path})
                    return
                sid = rest.removeprefix("Messages/").removesuffix(".json")
                message = sandbox.fetch(account_sid, sid)
                if message is None:
                    self._send(404, {"code": 20404, "message": f"message {sid} not found",
                                     "status": 404})
                else:
                    self._send(200, message.twilio_json())
            elif path == "/sandbox/faults":
                self._send(200, asdict(sandbox.faults))
            elif path == "/sandbox/messages":
                self._send(200, {"messages": sandbox.snapshot()})
            elif path == "/health":
                self._send(200, {"ok": True})
            else:
                self._send(404, {"code": 20404, "message": "not found", "status": 404})

        def do_DELETE(self) -> None:  # noqa: N802
            if urlparse(self.path).path == "/sandbox/faults":
                sandbox.set_faults(Faults())
                self._send(200, asdict(sandbox.faults))
            elif urlparse(self.path).path == "/sandbox/messages":
                sandbox.clear()
                self._send(200, {"cleared": True})
            else:
                self._send(404, {"code": 20404, "message": "not found", "status": 404})

        def do_POST(self) -> None:  # noqa: N802
            path = urlparse(self.path).path
            body = self._body()
            if path.startswith(MESSAGES_PATH) and path.endswith("/Messages.json"):
                account_sid = path[len(MESSAGES_PATH):].split("/", 1)[0]
                form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                status, payload = sandbox.accept(account_sid, form)
                with contextlib.suppress(OSError):  # the client gave up (timeout after accept)
                    self._send(status, payload)
            elif path == "/sandbox/faults":
                try:
                    sandbox.set_faults(Faults.from_dict(json.loads(body or b"{}")))
                except (ValueError, TypeError) as exc:
                    self._send(400, {"code": 21000, "message": str(exc), "status": 400})
                    return
                self._send(200, asdict(sandbox.faults))
            else:
                self._send(404, {"code": 20404, "message": "not found", "status": 404})

    return Handler


class SandboxServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 faults: Faults | None = None) -> None:
        self.sandbox = Sandbox(faults)
        self.server = ThreadingHTTPServer((host, port), _handler(self.sandbox))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="sandbox",
                                       daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> SandboxServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
