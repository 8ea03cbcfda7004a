"""The sandbox messaging gateway: a local HTTP server that speaks Twilio's Messages API.

It records every message with the instant it arrived and answers like Twilio (sid, status), so
the real twilio client talks to it over HTTP, pointed here by configuration only.

Inspect: GET /sandbox/messages (JSON list); DELETE /sandbox/messages clears the record.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

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
            "date_created": created, "date_updated": created, "date_sent": None,
            "direction": "outbound-api", "num_segments": "1", "error_code": None,
            "error_message": None, "messaging_service_sid": None, "price": None,
            "uri": f"{MESSAGES_PATH}{self.account_sid}/Messages/{self.sid}.json",
        }


class Sandbox:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[SandboxMessage] = []

    def accept(self, account_sid: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        to, from_ = form.get("To", ""), form.get("From", "")
        if not to or not from_:
            return 400, {"code": 21604, "message": "A 'To' and 'From' phone number is required.",
                         "status": 400}
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
            path = urlparse(self.path).path
            if path == "/sandbox/messages":
                self._send(200, {"messages": sandbox.snapshot()})
            elif path == "/health":
                self._send(200, {"ok": True})
            else:
                self._send(404, {"code": 20404, "message": "not found", "status": 404})

        def do_DELETE(self) -> None:  # noqa: N802
            if urlparse(self.path).path == "/sandbox/messages":
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
                self._send(status, payload)
            else:
                self._send(404, {"code": 20404, "message": "not found", "status": 404})

    return Handler


class SandboxServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.sandbox = Sandbox()
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
