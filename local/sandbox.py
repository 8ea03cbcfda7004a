"""The sandbox messaging gateway: a local HTTP server that speaks Twilio's Messages API.

It records every message with the instant it arrived and answers like Twilio (sid, status), so
the real twilio client talks to it over HTTP, pointed here by configuration only.

Inspect: GET /sandbox/messages (JSON list); DELETE /sandbox/messages clears the record.

Plays consumers and the carrier (once given the webhook base URL and auth token):
POST /sandbox/reply {from, to, body, sid?} calls our inbound webhook signed like Twilio;
POST /sandbox/callbacks {mode: off|delivered|undelivered, error_code, delay_seconds,
order: in_order|reversed, outcomes: {phone: "delivered" | error code}, before_answer} sets the
status callbacks sent for accepted messages that had a StatusCallback;
GET /sandbox/callbacks lists those sent.
WhatsApp templates: a minimal Twilio Content API (POST /v1/Content -> "HX..." sid; POST
/v1/Content/{sid}/ApprovalRequests/whatsapp; GET /v1/Content/{sid}/ApprovalRequests). An approval
request is "received" at once and decided by rule on the next read: a template whose name starts
with "reject" or whose body contains "REJECT" is rejected (with a reason), any other approved.
Look-ups, as Twilio answers them (the send path reconciles ambiguous sends with these):
GET /2010-04-01/Accounts/{sid}/Messages.json?To=&From=&DateSent>=&DateSent<=&PageSize= (newest
first) and GET /2010-04-01/Accounts/{sid}/Messages/{MessageSid}.json.

Accounts: `POST /sandbox/accounts` {account_sid: auth_token, ...} (or `Sandbox.set_accounts`)
makes the sandbox check credentials like Twilio: a request for an account with another token (or
for an account it does not know) gets 401, code 20003; status callbacks of a message are signed
with its account's token. With no accounts set (the default) any credentials are accepted.

Fault injection (`POST /sandbox/faults` with a JSON object, or `SandboxServer(faults=...)` /
`LocalStack(faults=...)`; `GET` shows it, `DELETE` clears it). Shares are probabilities per
send request, drawn in this order:
  server_error          answer 500 (code 20500); the message is NOT taken
  bad_gateway_after_accept  take the message, then answer 502 (code 20502), as a proxy does when
                        the server behind it stored the message and failed before answering
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
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlparse

from twilio.request_validator import RequestValidator

MESSAGES_PATH = "/2010-04-01/Accounts/"
CONTENT_PATH = "/v1/Content"


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
class CallbackSettings:
    mode: str = "off"  # off | delivered | undelivered
    error_code: str = "30003"  # for undelivered
    delay_seconds: float = 0.2
    order: str = "in_order"  # in_order (sent, then the outcome) | reversed
    outcomes: dict[str, str] = field(default_factory=dict)  # phone -> "delivered" | error code
    # Call back before answering the send request: the status arrives before the sender could
    # record the message id (happens with real gateways under load).
    before_answer: bool = False


@dataclass
class WebhookState:
    base_url: str | None = None
    auth_token: str = ""
    callbacks: CallbackSettings = field(default_factory=CallbackSettings)
    sent: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Faults:
    """What the sandbox does wrong on purpose (see the module doc)."""

    server_error: float = 0.0
    bad_gateway_after_accept: float = 0.0
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
        self.contents = ContentStore()
        self.set_faults(faults or Faults())
        self.refused = 0  # send requests answered with an injected error
        self.accounts: dict[str, str] = {}  # account SID -> auth token; empty: no check

    def set_accounts(self, accounts: dict[str, str]) -> None:
        """The accounts and their auth tokens (replacing the previous ones); {} stops checking."""
        with self.lock:
            self.accounts = dict(accounts)

    def authenticate(self, account_sid: str, username: str, password: str) -> bool:
        """Twilio's check: the credentials are the account's own (always true without
        accounts)."""
        with self.lock:
            if not self.accounts:
                return True
            token = self.accounts.get(account_sid)
        return token is not None and username == account_sid and password == token

    def token_of(self, account_sid: str) -> str | None:
        with self.lock:
            return self.accounts.get(account_sid)

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        self.random = random.Random(faults.seed)

    def _draw(self) -> str | None:
        f = self.faults
        with self.lock:
            roll = self.random.random()
        for name, share in (("server_error", f.server_error),
                            ("bad_gateway_after_accept", f.bad_gateway_after_accept),
                            ("rate_limited", f.rate_limited),
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
        if fault == "bad_gateway_after_accept":
            self.refused += 1
            return 502, {"code": 20502, "message": "Bad Gateway", "status": 502}
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
        self.schedule_callbacks(message)
        return 201, message.twilio_json()

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return [asdict(m) for m in self.messages]

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()

    # --- webhooks: consumer replies and status callbacks ---------------------------

    def _hooks(self) -> WebhookState:
        # Created on first use, so this block needs nothing from __init__.
        with self.lock:
            return self.__dict__.setdefault("_webhook_state", WebhookState())  # type: ignore

    def configure_webhooks(self, base_url: str, auth_token: str) -> None:
        hooks = self._hooks()
        hooks.base_url, hooks.auth_token = base_url.rstrip("/"), auth_token

    def set_callbacks(self, settings: dict[str, Any]) -> CallbackSettings:
        hooks = self._hooks()
        current = asdict(hooks.callbacks)
        unknown = set(settings) - set(current)
        if unknown:
            raise ValueError(f"unknown callback settings: {sorted(unknown)}")
        merged = CallbackSettings(**{**current, **settings})
        if merged.mode not in ("off", "delivered", "undelivered"):
            raise ValueError("mode must be off, delivered or undelivered")
        if merged.order not in ("in_order", "reversed"):
            raise ValueError("order must be in_order or reversed")
        hooks.callbacks = merged
        return merged

    def sent_callbacks(self) -> list[dict[str, Any]]:
        hooks = self._hooks()
        with self.lock:
            return list(hooks.sent)

    def schedule_callbacks(self, message: SandboxMessage) -> None:
        hooks = self._hooks()
        settings = hooks.callbacks
        if settings.mode == "off" or not message.status_callback or not (
                hooks.auth_token or self.token_of(message.account_sid)):
            return
        phone = message.to.split(":", 1)[-1]
        outcome = settings.outcomes.get(phone) or (
            "delivered" if settings.mode == "delivered" else settings.error_code)
        final = {"MessageStatus": "delivered"} if outcome == "delivered" else {
            "MessageStatus": "undelivered", "ErrorCode": str(outcome)}
        sequence = [{"MessageStatus": "sent"}, final]
        if settings.order == "reversed":
            sequence.reverse()
        if settings.before_answer:
            self._post_callbacks(message, sequence)
            return
        timer = threading.Timer(settings.delay_seconds, self._post_callbacks,
                                args=(message, sequence))
        timer.daemon = True
        timer.start()

    def _post_callbacks(self, message: SandboxMessage, sequence: list[dict[str, str]]) -> None:
        for extra in sequence:
            form = {"MessageSid": message.sid, "SmsSid": message.sid,
                    "AccountSid": message.account_sid, "From": message.from_, "To": message.to,
                    "SmsStatus": extra["MessageStatus"], "ApiVersion": "2010-04-01", **extra}
            status = self.post_signed(message.status_callback or "", form,
                                      self.token_of(message.account_sid))
            hooks = self._hooks()
            with self.lock:
                hooks.sent.append(
                    {"sid": message.sid, "to": message.to, "status": extra["MessageStatus"],
                     "error_code": extra.get("ErrorCode"), "http_status": status})

    def reply(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """A consumer's message to one of our numbers: our inbound webhook, signed."""
        hooks = self._hooks()
        if not hooks.base_url or not hooks.auth_token:
            return 409, {"code": 20409, "message": "the sandbox does not know the webhook URL "
                         "and auth token (configure_webhooks)", "status": 409}
        missing = [k for k in ("from", "to", "body") if not isinstance(data.get(k), str)]
        if missing:
            return 400, {"code": 21604, "message": f"missing or not text: {', '.join(missing)}",
                         "status": 400}
        sid = str(data.get("sid") or "SM" + uuid.uuid4().hex)
        form = {"MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid,
                "AccountSid": "AC" + "0" * 32, "From": data["from"], "To": data["to"],
                "Body": data["body"], "NumMedia": "0", "NumSegments": "1",
                "SmsStatus": "received", "ApiVersion": "2010-04-01"}
        if data["from"].startswith("whatsapp:"):
            form.update({"ProfileName": "Sandbox consumer",
                         "WaId": data["from"].split(":", 1)[1].lstrip("+")})
        url = f"{hooks.base_url}/webhooks/twilio/inbound"
        status = self.post_signed(url, form)
        return 200, {"sid": sid, "webhook_status": status}

    def post_signed(self, url: str, form: dict[str, str], token: str | None = None) -> int:
        """POST `form` to `url` signed with `token` (default: the webhooks' token)."""
        signature = RequestValidator(token or self._hooks().auth_token).compute_signature(url,
                                                                                           form)
        request = urllib.request.Request(
            url, data=urlencode(form).encode(), method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                     "X-Twilio-Signature": signature, "User-Agent": "TwilioProxy/1.1"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return int(response.status)
        except urllib.error.HTTPError as err:
            return int(err.code)
        except OSError:
            return 0


class ContentStore:
    """Twilio Content API, the part templates need."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: dict[str, dict[str, Any]] = {}
        self.approvals: dict[str, dict[str, Any]] = {}

    def create(self, account_sid: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        body = ((data.get("types") or {}).get("twilio/text") or {}).get("body")
        if not data.get("friendly_name") or not body:
            return 400, {"code": 20001, "status": 400,
                         "message": "friendly_name and types.twilio/text.body are required"}
        sid = "HX" + uuid.uuid4().hex
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        content = {"sid": sid, "account_sid": account_sid,
                   "friendly_name": data["friendly_name"],
                   "language": data.get("language") or "en",
                   "variables": data.get("variables") or {},
                   "types": data["types"], "date_created": now, "date_updated": now,
                   "url": f"https://content.twilio.com/v1/Content/{sid}", "links": {}}
        with self.lock:
            self.items[sid] = content
        return 201, content

    def get(self, sid: str) -> tuple[int, dict[str, Any]]:
        with self.lock:
            content = self.items.get(sid)
        if content is None:
            return 404, {"code": 20404, "status": 404, "message": f"Content {sid} not found"}
        return 200, content

    def submit(self, sid: str, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, content = self.get(sid)
        if status != 200:
            return status, content
        if not data.get("name") or not data.get("category"):
            return 400, {"code": 20001, "status": 400, "message": "name and category are required"}
        name = str(data["name"])
        body = str(content["types"]["twilio/text"]["body"])
        rejected = name.lower().startswith("reject") or "REJECT" in body
        approval = {"name": name, "category": data["category"], "content_type": "twilio/text",
                    "status": "received", "rejection_reason": "",
                    "allow_category_change": True,
                    "decision": "rejected" if rejected else "approved",
                    "decision_reason": "The template was rejected by the sandbox rule (a name "
                    "starting with 'reject' or a body containing 'REJECT')" if rejected else ""}
        with self.lock:
            self.approvals[sid] = approval
        return 201, {k: v for k, v in approval.items() if not k.startswith("decision")}

    def approval(self, account_sid: str, sid: str) -> tuple[int, dict[str, Any]]:
        status, content = self.get(sid)
        if status != 200:
            return status, content
        with self.lock:
            approval = self.approvals.get(sid)
            if approval is not None and approval["status"] == "received":
                # Decided when first read after submission, so callers see PENDING first.
                approval["status"] = approval["decision"]
                approval["rejection_reason"] = approval["decision_reason"]
            whatsapp = {"type": "whatsapp", "status": "unsubmitted", "name": "", "category": "",
                        "content_type": "twilio/text", "rejection_reason": "",
                        "allow_category_change": True}
            if approval is not None:
                whatsapp.update({k: v for k, v in approval.items()
                                 if not k.startswith("decision")})
        return 200, {"sid": sid, "account_sid": account_sid, "whatsapp": whatsapp,
                     "url": f"https://content.twilio.com/v1/Content/{sid}/ApprovalRequests"}

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.approvals.clear()


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

        def _credentials(self) -> tuple[str, str]:
            import base64

            auth = self.headers.get("Authorization") or ""
            try:
                user, _, password = base64.b64decode(auth.split(" ", 1)[1]).decode().partition(
                    ":")
            except (IndexError, ValueError):
                return "AC" + "0" * 32, ""
            return user, password

        def _account(self) -> str:
            return self._credentials()[0]

        def _refused(self, path: str) -> bool:
            """Answer 401 like Twilio unless the request's credentials are its account's."""
            if not (path.startswith(MESSAGES_PATH) or path.startswith(CONTENT_PATH)):
                return False
            user, password = self._credentials()
            account = (path[len(MESSAGES_PATH):].split("/", 1)[0]
                       if path.startswith(MESSAGES_PATH) else user)
            if sandbox.authenticate(account, user, password):
                return False
            self._body()  # read it, so the connection stays usable
            self._send(401, {"code": 20003, "message": "Authenticate", "status": 401,
                             "more_info": "https://www.twilio.com/docs/errors/20003"})
            return True

        def do_GET(self) -> None:  # noqa: N802
            path = urlparse(self.path).path
            if self._refused(path):
                return
            if path.startswith(CONTENT_PATH + "/"):
                parts = path[len(CONTENT_PATH) + 1:].split("/")
                if len(parts) == 1:
                    self._send(*sandbox.contents.get(parts[0]))
                elif len(parts) == 2 and parts[1] == "ApprovalRequests":
                    self._send(*sandbox.contents.approval(self._account(), parts[0]))
                else:
                    self._send(404, {"code": 20404, "message": "not found", "status": 404})
                return
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
            elif path == "/sandbox/callbacks":
                self._send(200, {"settings": asdict(sandbox._hooks().callbacks),
                                 "sent": sandbox.sent_callbacks()})
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
            if self._refused(path):
                return
            body = self._body()
            if path.startswith(CONTENT_PATH):
                try:
                    data = json.loads(body or b"{}")
                except ValueError:
                    data = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                parts = path[len(CONTENT_PATH):].strip("/").split("/")
                if parts == [""]:
                    self._send(*sandbox.contents.create(self._account(), data))
                elif len(parts) == 3 and parts[1:] == ["ApprovalRequests", "whatsapp"]:
                    self._send(*sandbox.contents.submit(parts[0], data))
                else:
                    self._send(404, {"code": 20404, "message": "not found", "status": 404})
            elif path.startswith(MESSAGES_PATH) and path.endswith("/Messages.json"):
                account_sid = path[len(MESSAGES_PATH):].split("/", 1)[0]
                form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
                status, payload = sandbox.accept(account_sid, form)
                with contextlib.suppress(OSError):  # the client gave up (timeout after accept)
                    self._send(status, payload)
            elif path == "/sandbox/accounts":
                try:
                    accounts = json.loads(body or b"{}")
                    if not isinstance(accounts, dict):
                        raise ValueError("the body must be a JSON object {account_sid: token}")
                except ValueError as exc:
                    self._send(400, {"code": 21000, "message": str(exc), "status": 400})
                    return
                sandbox.set_accounts({str(k): str(v) for k, v in accounts.items()})
                self._send(200, {"accounts": sorted(accounts)})
            elif path in ("/sandbox/reply", "/sandbox/callbacks"):
                self._send(*_webhook_route(sandbox, path, body))
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


def _webhook_route(sandbox: Sandbox, path: str, body: bytes) -> tuple[int, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return 400, {"code": 20400, "message": "the body must be JSON", "status": 400}
    if not isinstance(data, dict):
        return 400, {"code": 20400, "message": "the body must be a JSON object", "status": 400}
    if path == "/sandbox/reply":
        return sandbox.reply(data)
    try:
        return 200, {"settings": asdict(sandbox.set_callbacks(data))}
    except (TypeError, ValueError) as exc:
        return 400, {"code": 20400, "message": str(exc), "status": 400}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up waiting (the timeout faults) resets the connection: expected.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class SandboxServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0,
                 faults: Faults | None = None) -> None:
        self.sandbox = Sandbox(faults)
        self.server = _QuietServer((host, port), _handler(self.sandbox))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="sandbox",
                                       daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> SandboxServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def configure_webhooks(self, base_url: str, auth_token: str) -> SandboxServer:
        """Where our webhooks are and the token to sign them with."""
        self.sandbox.configure_webhooks(base_url, auth_token)
        return self
