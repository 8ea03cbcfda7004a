"""Shared fixtures.

- `aws`: a moto server over HTTP (one per test worker), reset before each test, with every
  resource of infra/ created and the app's settings pointed at it.
- `sandbox`: the sandbox messaging gateway over HTTP; the twilio client is configured to use it.
- `brand`: a seeded brand with keys for every role.
- `api`: chalice's test client on the real app (service tests); e2e tests use HTTP instead.

Every AWS call a Lambda function makes in a test using `aws` or `stack` is checked against that
function's role in the packaged template (tests/iam_check.py); a call the role does not allow
fails the test, naming the function, the action and the resource.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local import pumps
from local.local_resources import REGION, create_resources, put_local_secrets
from local.local_stack import quiet_logs
from local.moto_server import MotoServer
from local.sandbox import SandboxServer
from tests import awscalls, iam_check

BASE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "PROACTIVE_STAGE": "dev",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
}
for _key, _value in BASE_ENV.items():
    os.environ.setdefault(_key, _value)
awscalls.install()


# The longest files first: `make test` hands whole files to two workers (--dist loadfile) in
# collection order, and a long file started last would leave one worker idle while it runs.
LONGEST_FIRST = ("tests/e2e/test_chaos.py", "tests/service/recipients/test_csv_upload.py",
                 "tests/contract/test_fuzz.py", "tests/browser/", "tests/e2e/")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        return next((i for i, prefix in enumerate(LONGEST_FIRST) if path.startswith(prefix)),
                    len(LONGEST_FIRST))

    items.sort(key=rank)  # stable: each file's tests stay together and in order


def _as_function(function: str, call: Callable[[], Any]) -> Any:
    with awscalls.acting_as(function):
        return call()


# Every handler invocation (pumps, the local API server, tests calling a handler) names its
# function for the IAM check. Set per process: each pytest-xdist worker imports this module.
pumps.invoker = _as_function


@pytest.fixture(autouse=True)
def _no_leftover_faults() -> Iterator[None]:
    """A fault injected by one test (tests/awscalls.py) never reaches the next."""
    yield
    awscalls.faults.clear()


@pytest.fixture(scope="session")
def iam_recorder() -> Iterator[iam_check.Recorder]:
    recorder = iam_check.Recorder(iam_check.Roles(iam_check.packaged_template()))
    awscalls.observers.append(recorder)
    yield recorder
    awscalls.observers.remove(recorder)


@pytest.fixture(autouse=True)
def _calls_allowed_by_roles(request: pytest.FixtureRequest) -> Iterator[None]:
    """Tests that run functions against AWS (moto) fail on any call the calling function's
    role does not allow. Set up before `aws`/`stack`, so checked after the stack has stopped."""
    if not {"aws", "stack"} & set(request.fixturenames):
        yield
        return
    recorder: iam_check.Recorder = request.getfixturevalue("iam_recorder")
    recorder.take()  # calls of earlier unchecked tests' leftovers
    yield
    refused = recorder.take()
    if refused:
        pytest.fail(iam_check.report(refused), pytrace=False)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    quiet_logs()
    server = MotoServer().start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    server = SandboxServer().start()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    sandbox_server.sandbox.clear()
    return sandbox_server


@pytest.fixture
def aws(moto_url: str, sandbox_server: SandboxServer,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    from chalicelib import config

    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST"))
    env = create_resources(moto_url)
    # Secrets by reference, as on AWS: the *_PARAM variables name SSM SecureString parameters.
    put_local_secrets(moto_url, {env["TWILIO_AUTH_TOKEN_PARAM"]: "test-token"})
    env.update(BASE_ENV)
    env.update({
        "AWS_ENDPOINT_URL": moto_url,
        "RELEASE_HORIZON_SECONDS": "60",
        "TWILIO_API_BASE": sandbox_server.url,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "test-token",
        "PUBLIC_BASE_URL": "https://api.example.test/api",
        # Generous API limits so tests may call quickly; tests of the limit set a brand's own.
        "API_RATE_DEFAULT": "1000",
        "API_BURST_DEFAULT": "1000",
    })
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    config.reset_settings()
    yield env
    monkeypatch.undo()
    config.reset_settings()


@dataclass
class Brand:
    brand_id: str
    keys: dict[str, str]
    sms_number: str

    def auth(self, role: str = "campaign_manager") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


def make_brand(brand_id: str, number: str) -> Brand:
    from local.seed import seed_demo

    seeded = seed_demo(brand_id=brand_id, name=f"Brand {brand_id}", sms_number=number,
                       sms_rate=50)
    from chalicelib.services import auth

    _, secret = auth.create_key(brand_id, "agent_manager", label="agent manager")
    seeded["keys"]["agent_manager"] = secret
    return Brand(brand_id, seeded["keys"], number)


@pytest.fixture
def brand(aws: dict[str, str]) -> Brand:
    return make_brand("acme", "+12125550100")


@pytest.fixture
def other_brand(aws: dict[str, str]) -> Brand:
    return make_brand("globex", "+14155550100")


class Api:
    """chalice's in-process test client with JSON helpers."""

    def __init__(self) -> None:
        from chalice.test import Client

        from app import app
        from local.local_stack import requests_per_thread

        # tests answer requests from several threads at once, like the local stack
        requests_per_thread(app)
        self.client = Client(app, stage_name="dev")

    def call(self, method: str, path: str, brand: Brand | None = None, role: str =
             "campaign_manager", json_body: Any = None, body: str | bytes | None = None,
             content_type: str = "application/json",
             headers: dict[str, str] | None = None) -> tuple[int, Any]:
        headers = {"Content-Type": content_type, **(headers or {})}
        if brand is not None:
            headers.update(brand.auth(role))
        payload = json.dumps(json_body) if json_body is not None else body
        with awscalls.acting_as(pumps.API_FUNCTION):
            response = getattr(self.client.http, method.lower())(path, headers=headers,
                                                                 body=payload or b"")
        try:
            data = json.loads(response.body) if response.body else None
        except ValueError:
            data = response.body
        return response.status_code, data


@pytest.fixture
def api(aws: dict[str, str]) -> Iterator[Api]:
    client = Api()
    yield client
    client.client.__exit__(None, None, None)


def campaign_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Winter sale",
        "channel": "sms",
        "from_number": "+12125550100",
        "skill": "sales",
        "text": "Winter sale: 20% off this week",
        "schedule": {"send_rate": 5, "window": {"start": "00:00", "end": "24:00"}},
    }
    body.update(overrides)
    return body
