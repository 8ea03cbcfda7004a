"""The embedded local stack: moto server with the resources of infra/, the API (Chalice's local
server, same app object), the event pumps and the sandbox gateway, on loopback.

Used by `make run` (local/run.py) and by the end-to-end tests, on free ports.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import socket
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import boto3
from chalice.app import DynamoDBEventConfig, ScheduledEventConfig, SQSEventConfig
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    CustomLocalChalice,
    ForbiddenError,
    LocalChalice,
    LocalDevServer,
    LocalGatewayException,
    RouteMatcher,
)

from infra.template import gateway_response, load_fragment, sqs_batching
from local import pumps
from local.local_resources import REGION, create_resources, put_local_secrets
from local.moto_server import MotoProcess
from local.pumps import Pump, S3Pump, SchedulePump, SqsPump, StreamLog, StreamPump
from local.sandbox import Faults, SandboxServer

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_AUTH_TOKEN = "sandbox-auth-token"
# How long stop() lets invocations in flight finish (a send batch waits at most ~10 s for slots).
STOP_TIMEOUT_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def quiet_logs() -> None:
    for name in ("werkzeug", "botocore", "urllib3", "moto"):
        logging.getLogger(name).setLevel(logging.ERROR)


class ApiRequestHandler(ChaliceRequestHandler):
    """chalice's local server, answering as API Gateway with our gateway responses does
    (infra/resources/api.yaml): a path the API does not have is its MISSING_AUTHENTICATION_TOKEN
    answer, and a method a path does not take is 405 in the API's error shape. (chalice answers
    the first with two different 403 bodies, the second with its own {"Code"} shape, and a
    method it has no handler for, such as TRACE, with http.server's HTML 501 page.)"""

    _missing_route = gateway_response(load_fragment(), "MISSING_AUTHENTICATION_TOKEN")

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        if code != HTTPStatus.NOT_IMPLEMENTED or not self.command:
            super().send_error(code, message, explain)
            return
        self.close_connection = True  # the request's body, if any, was not read
        self._method_not_allowed()

    def _send_error_response(self, error: LocalGatewayException) -> None:
        if isinstance(error, ForbiddenError) and error.headers.get(
                "x-amzn-ErrorType") == "UnauthorizedException":
            status, body = self._missing_route
            self._send_http_response(status, {"Content-Type": "application/json"}, body)
            return
        super()._send_error_response(error)

    def _send_http_response(self, code: int, headers: Any, body: str | bytes | None) -> None:
        if code == HTTPStatus.METHOD_NOT_ALLOWED and b'"MethodNotAllowedError"' in (
                body.encode() if isinstance(body, str) else body or b""):
            self._method_not_allowed()
            return
        super()._send_http_response(code, headers, body)

    def _method_not_allowed(self) -> None:
        headers = {"Content-Type": "application/json"}
        allowed = self._allowed_methods()
        if allowed:
            headers["Allow"] = ", ".join(allowed)
        body = json.dumps({"error": {"code": "METHOD_NOT_ALLOWED", "message": (
            f"{self.command} is not a method of this path"
            + (f"; it takes {', '.join(allowed)}" if allowed else ""))}})
        super()._send_http_response(HTTPStatus.METHOD_NOT_ALLOWED, headers, body)

    def _allowed_methods(self) -> list[str]:
        routes = self.local_gateway._app_object.routes
        try:
            match = RouteMatcher(list(routes)).match_route(self.path)
        except ValueError:
            return []
        return sorted(routes[match.route])


class ApiFunctionHandler(ApiRequestHandler):
    """Each request is an invocation of the API's function (pumps.invoke: the tests' IAM check
    knows which function makes the AWS calls)."""

    def _generic_handle(self) -> None:
        pumps.invoker(pumps.API_FUNCTION, super()._generic_handle)


class QuietChaliceHandler(ApiFunctionHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


def requests_per_thread(app: Any) -> None:
    """Give each thread its own `app.current_request`, as chalice's local server does (on Lambda
    one request at a time reaches a process; here many threads answer at once). What
    chalice.local.create_local_server does, once per process (it cannot twice)."""
    if not isinstance(app, LocalChalice):
        CustomLocalChalice.__bases__ = (LocalChalice, app.__class__)
        app.__class__ = CustomLocalChalice


@dataclass
class LocalStack:
    api_port: int = 0
    moto_port: int = 0
    sandbox_port: int = 0
    stage: str = "dev"
    release_horizon_seconds: int = 60
    tick_seconds: float = 5.0
    log_requests: bool = False
    send_consumers: int | None = None  # default: the handler's maximum_concurrency
    # The sandbox's status callbacks: off | delivered | undelivered (POST /sandbox/callbacks).
    status_callbacks: str = "off"
    faults: Faults | None = None  # the sandbox's fault injection (local/sandbox.py)
    sqs_duplicate_share: float = 0.0  # share of SQS messages the pumps deliver twice
    extra_env: dict[str, str] = field(default_factory=dict)  # e.g. GATEWAY_TIMEOUT_SECONDS
    env: dict[str, str] = field(default_factory=dict)
    pumps: list[Pump] = field(default_factory=list)
    _saved_env: dict[str, str | None] = field(default_factory=dict)

    def start(self) -> LocalStack:
        quiet_logs()
        self.api_port = self.api_port or free_port()
        self.moto = MotoProcess(port=self.moto_port).start()
        self.moto_url = self.moto.url
        self.sandbox = SandboxServer(port=self.sandbox_port, faults=self.faults).start()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        # moto keeps its state per process: start from empty, as a fresh account would.
        urllib.request.urlopen(urllib.request.Request(f"{self.moto_url}/moto-api/reset",
                                                      method="POST")).close()
        # The web tool is served by the API: its origin may post uploads to the bucket.
        resource_env = create_resources(self.moto_url, self.stage,
                                        parameters={"WebOrigin": self.api_url})
        # The sandbox's auth token goes into moto's SSM, as ops put the real one on AWS.
        put_local_secrets(self.moto_url, {
            resource_env["TWILIO_AUTH_TOKEN_PARAM"]: SANDBOX_AUTH_TOKEN,
        })
        self._set_env({
            **resource_env,
            "AWS_ENDPOINT_URL": self.moto_url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "PROACTIVE_STAGE": self.stage,
            "RELEASE_HORIZON_SECONDS": str(self.release_horizon_seconds),
            "TWILIO_API_BASE": self.sandbox.url,
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "PUBLIC_BASE_URL": self.api_url,
            "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
            **self.extra_env,
        })
        from chalicelib import config as app_config

        app_config.reset_settings()
        # The sandbox plays Twilio towards our webhooks: their public URL and the signing token.
        self.sandbox.configure_webhooks(self.api_url, SANDBOX_AUTH_TOKEN)
        self.sandbox.sandbox.set_callbacks({"mode": self.status_callbacks})
        self.app = self._import_app()
        self._start_api()
        self._start_pumps()
        return self

    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value
        self.env.update(values)

    @staticmethod
    def _import_app() -> Any:
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))
        module = importlib.import_module("app")
        return module.app

    def _start_api(self) -> None:
        config = Config.create(chalice_app=self.app, stage=self.stage, app_name="proactive")
        requests_per_thread(self.app)
        handler = ApiFunctionHandler if self.log_requests else QuietChaliceHandler
        self.api = LocalDevServer(self.app, config, "127.0.0.1", self.api_port,
                                  handler_cls=handler)
        self.api_thread = threading.Thread(target=self.api.server.serve_forever, name="api",
                                           daemon=True)
        self.api_thread.start()

    def _start_pumps(self) -> None:
        session = boto3.session.Session(region_name=REGION)
        sqs = session.client("sqs", endpoint_url=self.moto_url)
        streams = session.client("dynamodbstreams", endpoint_url=self.moto_url)
        # Lambda's on-failure destination of the stream readers (infra/resources/queues.yaml).
        failures = sqs.get_queue_url(
            QueueName=f"proactive-{self.stage}-failed-invocations")["QueueUrl"]
        stream_logs: dict[str, StreamLog] = {}  # one reader per stream for its followers
        fragment = load_fragment(self.stage)  # the event sources' batching, as deployed
        for source in self.app.event_sources:
            name = source.name
            if isinstance(source, SQSEventConfig):
                url = sqs.get_queue_url(QueueName=source.queue)["QueueUrl"]
                workers = source.maximum_concurrency or 1
                if self.send_consumers and source.batch_size > 1:
                    workers = self.send_consumers
                duplicates = self.sqs_duplicate_share if source.batch_size > 1 else 0.0
                batching = sqs_batching(fragment, name)
                for worker in range(workers):
                    self.pumps.append(SqsPump(self.app, name, source, sqs, url, worker,
                                              duplicate_share=duplicates, batching=batching))
            elif isinstance(source, DynamoDBEventConfig):
                arn = self.env["MESSAGES_STREAM_ARN"]
                if arn not in stream_logs:
                    stream_logs[arn] = StreamLog(streams, arn)
                    self.pumps.append(stream_logs[arn])
                self.pumps.append(StreamPump(
                    self.app, name, source, streams, arn, sqs=sqs, failure_queue_url=failures,
                    stream_log=stream_logs[arn]))
            elif isinstance(source, ScheduledEventConfig):
                self.pumps.append(SchedulePump(self.app, name, source, self.tick_seconds))
        # The uploads bucket's notification (infra/resources/storage.yaml) -> parse_upload.
        s3 = session.client("s3", endpoint_url=self.moto_url)
        self.pumps.append(S3Pump(self.app, "parse_upload", s3, self.env["UPLOADS_BUCKET"],
                                 "uploads/"))
        for pump in self.pumps:
            pump.start()

    def pump(self, handler: str) -> Pump:
        return next(p for p in self.pumps if p.name.split("-", 1)[1].startswith(handler))

    def stop(self) -> None:
        # Pumps first, while moto and the sandbox still answer: an invocation in flight ends as
        # it would on AWS instead of failing against a stopped server (or, once the environment
        # is restored, against real AWS endpoints).
        for pump in self.pumps:
            pump.stop()
        deadline = time.time() + STOP_TIMEOUT_SECONDS
        for pump in self.pumps:
            pump.join(timeout=max(0.0, deadline - time.time()))
        lingering = [p.name for p in self.pumps if p.is_alive()]
        if lingering:
            logging.getLogger("proactive.local").warning("pumps still running at stop: %s",
                                                         lingering)
        self.api.server.shutdown()
        self.api.server.server_close()
        self.sandbox.stop()
        self.moto.stop()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        from chalicelib import config as app_config

        app_config.reset_settings()

    def wait_for(self, predicate: Any, timeout: float, every: float = 0.25) -> Any:
        deadline = time.time() + timeout
        while True:
            value = predicate()
            if value or time.time() > deadline:
                return value
            time.sleep(every)
