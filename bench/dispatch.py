"""The send path: consumer CPU per message and AWS requests per sent message.

moto server and the sandbox gateway run in a child process, so this process's CPU time is the
consumer's own (plus the little the SQS poll costs). AWS requests are counted with a botocore
`before-call` event hook on every client created (boto3's and pynamodb's alike), by service and
operation, for the fan-out (launch job + release), the consumer (our handler) and the Lambda
poller's receive/delete (which AWS makes, not our code, but still bills).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import botocore.session

from bench._report import write_section

ROOT = Path(__file__).resolve().parent.parent
RECIPIENTS = 1000
SEND_RATE = 100.0
CONSUMERS = 3
SERVERS = """
import sys, time
from local.local_stack import quiet_logs
from local.moto_server import MotoServer
from local.sandbox import SandboxServer
quiet_logs()
moto = MotoServer(port=int(sys.argv[1])).start()
sandbox = SandboxServer(port=int(sys.argv[2])).start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"""


class RequestCounter:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.phase = "setup"
        self.original = botocore.session.Session.create_client

    def install(self) -> None:
        counter = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = counter.original(session, *args, **kwargs)
            client.meta.events.register("before-call", counter.count)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]

    def count(self, model: Any, **_: Any) -> None:
        # The consumer's send threads make calls too, so the phase is by operation: during
        # sending, ReceiveMessage and DeleteMessageBatch are the poller's, the rest our code's.
        phase = self.phase
        if phase == "consumer" and model.name in ("ReceiveMessage", "DeleteMessageBatch"):
            phase = "poller"
        with self.lock:
            self.calls[f"{phase}:{model.service_model.service_name}.{model.name}"] += 1

    def total(self, phase: str) -> int:
        return sum(n for k, n in self.calls.items() if k.startswith(phase + ":"))


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    moto_port, sandbox_port = _free_port(), _free_port()
    child = subprocess.Popen([sys.executable, "-c", SERVERS, str(moto_port), str(sandbox_port)],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        _run(f"http://127.0.0.1:{moto_port}", f"http://127.0.0.1:{sandbox_port}")
    finally:
        child.terminate()
        child.wait(timeout=10)


def _run(moto_url: str, sandbox_url: str) -> None:
    counter = RequestCounter()
    counter.install()
    from local.local_resources import create_resources, put_local_secrets

    env = create_resources(moto_url)
    # the gateway's credentials by reference, as on AWS (SSM SecureString)
    put_local_secrets(moto_url, {env["TWILIO_AUTH_TOKEN_PARAM"]: "bench-token"})
    os.environ.update(env)
    os.environ.update({
        "AWS_ENDPOINT_URL": moto_url, "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1", "RELEASE_HORIZON_SECONDS": "60",
        "TWILIO_API_BASE": sandbox_url, "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "POWERTOOLS_LOG_LEVEL": "ERROR", "PUBLIC_BASE_URL": "https://api.example.test/api",
    })
    from chalicelib import aws
    from chalicelib.config import get_settings, reset_settings

    reset_settings()
    from chalicelib.services import dispatch, jobs
    from chalicelib.store import messages
    from chalicelib.store.models import CampaignModel, MessageModel, SenderNumberModel
    from local.seed import seed_demo

    seed_demo(sms_rate=1000)
    SenderNumberModel("+12125550100", brand_id="demo", channel="sms", kind="short_code",
                      rate=1000).save()
    now = time.time()
    CampaignModel("demo", "cmp_bench", name="Bench", channel="sms", from_number="+12125550100",
                  skill="sales", text="Bench", send_rate=SEND_RATE, window_start="00:00",
                  window_end="24:00", status="RUNNING", created_at=now, launched_at=now).save()
    messages.write_all(
        MessageModel("cmp_bench", f"+1212555{n:04d}", brand_id="demo", skill="sales",
                     channel="sms", line=n, text="Bench\nReply STOP to opt out",
                     zones=["America/New_York"], status="PENDING", created_at=now)
        for n in range(RECIPIENTS))

    counter.phase = "fanout"
    began = time.perf_counter()
    jobs.launch("demo", "cmp_bench")
    fanout_seconds = time.perf_counter() - began

    sqs, url = aws.client("sqs"), get_settings().send_queue_url
    cpu = [0.0]
    sent_lock = threading.Lock()
    handled = [0]

    def consume() -> None:
        idle = 0
        while idle < 3:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            batch = got.get("Messages") or []
            if not batch:
                idle += 1
                continue
            idle = 0
            dispatch.handle_batch([(m["MessageId"], m["Body"]) for m in batch])
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)])
            with sent_lock:
                handled[0] += len(batch)

    counter.phase = "consumer"
    cpu_before = time.process_time()
    began = time.perf_counter()
    threads = [threading.Thread(target=consume) for _ in range(CONSUMERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    send_seconds = time.perf_counter() - began - 3  # the idle polls at the end
    cpu[0] = time.process_time() - cpu_before

    statuses = Counter(m.status for m in messages.iter_campaign("cmp_bench", consistent=True))
    with urllib.request.urlopen(sandbox_url + "/sandbox/messages") as response:
        import json

        received = len(json.loads(response.read())["messages"])
    sent = statuses.get("SENT", 0)
    fanout, consumer, poller = (counter.total(p) for p in ("fanout", "consumer", "poller"))
    detail = sorted(counter.calls.items(), key=lambda kv: -kv[1])
    rows = [
        "| Figure | Value |", "|---|---|",
        f"| Recipients, send rate | {RECIPIENTS}, {SEND_RATE:g}/s, {CONSUMERS} consumers |",
        f"| Sent (gateway received) | {sent} ({received}) |",
        f"| Fan-out (schedule + release) | {fanout_seconds:.2f} s |",
        f"| Sending wall time | {send_seconds:.1f} s |",
        f"| Consumer CPU per message | {1000 * cpu[0] / max(1, sent):.2f} ms |",
        f"| AWS requests per sent message, our code (fan-out + consumer) | "
        f"{(fanout + consumer) / max(1, sent):.2f} |",
        f"| ... plus the Lambda poller's receive/delete | "
        f"{(fanout + consumer + poller) / max(1, sent):.2f} |",
    ]
    rows += ["", "Requests by phase and operation:", "", "| Phase:operation | Calls |",
             "|---|---|"]
    rows += [f"| {k} | {n} |" for k, n in detail if not k.startswith("setup:")]
    write_section("dispatch", "Send path: consumer CPU and AWS requests per sent message",
                  "\n".join(rows) + "\n\nTarget: <= 3.0 AWS requests per sent message "
                  "amortised over fan-out, send and record. CPU is this process's (moto and the "
                  "sandbox run in a child process); the machine is shared, so wall times vary.")


if __name__ == "__main__":
    main()
