"""Every AWS call our code makes, seen at one place: botocore's `BaseClient._make_api_call`.

boto3 clients (chalicelib.aws, S3 pre-signing, Secrets Manager/SSM) and pynamodb's connections
all end there, so one wrapper can

- **inject faults** into the real AWS client (STYLE 7: a table that throttles, a queue that
  refuses a send), without touching our own functions: `with faults.inject("sqs", "SendMessage",
  times=1): ...`;
- **observe** each call (service, operation, parameters) with the function that made it, for
  the IAM check against the packaged template's roles (`observers`).

The function making a call is a context variable (`current_function`): the local stack's pumps
and the test client set it around each handler invocation; calls made outside any function
(fixtures creating resources, pumps polling queues) carry `None`. Threads a function starts
through a ThreadPoolExecutor (the send consumer sends each message from its own) run in a copy
of the submitter's context, so their calls are the function's too.
"""

from __future__ import annotations

import contextvars
import random
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

current_function: ContextVar[str | None] = ContextVar("current_function", default=None)

Observer = Callable[[str, str, dict[str, Any], "str | None"], None]


@dataclass
class Fault:
    """Fail matching calls with `error_code` (a ClientError, as AWS would answer) before they
    reach AWS, or after it has done the work when `after` is true (the caller then cannot know
    the call succeeded)."""

    service: str
    operation: str
    error_code: str = "ThrottlingException"
    status: int = 400
    times: int | None = None  # at most this many failures (None: every matching call)
    probability: float = 1.0
    after: bool = False
    when: Callable[[dict[str, Any]], bool] | None = None
    fired: int = 0
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    def matches(self, service: str, operation: str, params: dict[str, Any]) -> bool:
        if (service, operation) != (self.service, self.operation):
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        if self.when is not None and not self.when(params):
            return False
        return self.rng.random() < self.probability

    def error(self) -> ClientError:
        return ClientError({"Error": {"Code": self.error_code, "Message": "injected fault"},
                            "ResponseMetadata": {"HTTPStatusCode": self.status}},
                           self.operation)


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: list[Fault] = []

    @contextmanager
    def inject(self, service: str, operation: str, **options: Any) -> Iterator[Fault]:
        fault = Fault(service, operation, **options)
        with self._lock:
            self._active.append(fault)
        try:
            yield fault
        finally:
            with self._lock:
                self._active.remove(fault)

    def clear(self) -> None:
        with self._lock:
            self._active.clear()

    def draw(self, service: str, operation: str, params: dict[str, Any]) -> Fault | None:
        with self._lock:
            for fault in self._active:
                if fault.matches(service, operation, params):
                    fault.fired += 1
                    return fault
        return None


faults = Faults()
observers: list[Observer] = []
_installed = threading.Lock()
_original: Any = None


def service_name(client: Any) -> str:
    """The service as IAM names it (`dynamodb`, `sqs`, `s3`, `secretsmanager`, ...)."""
    model = client.meta.service_model
    return str(model.signing_name or model.endpoint_prefix)


def install() -> None:
    """Wrap botocore once per process (idempotent)."""
    global _original
    with _installed:
        if _original is not None:
            return
        _original = BaseClient._make_api_call

        def make_api_call(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            service = service_name(self)
            function = current_function.get()
            for observe in list(observers):
                observe(service, operation_name, api_params, function)
            fault = faults.draw(service, operation_name, api_params)
            if fault is not None and not fault.after:
                raise fault.error()
            answer = _original(self, operation_name, api_params)
            if fault is not None:
                raise fault.error()
            return answer

        BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]

        submit = ThreadPoolExecutor.submit

        def submit_in_context(self: Any, fn: Callable[..., Any], /, *args: Any,
                              **kwargs: Any) -> Any:
            return submit(self, contextvars.copy_context().run, fn, *args, **kwargs)

        ThreadPoolExecutor.submit = submit_in_context  # type: ignore[method-assign]


@contextmanager
def acting_as(function: str | None) -> Iterator[None]:
    """Calls made inside are made by `function` (a Lambda function's logical name)."""
    token = current_function.set(function)
    try:
        yield
    finally:
        current_function.reset(token)
