"""Observable in production (issue 12 point 7): every function traces with X-Ray, the send path
writes EMF metrics, and each log line names its invocation (Lambda request id, correlation id,
campaign)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from chalicelib.config import reset_settings
from chalicelib.logs import CORRELATION_HEADER, logger
from local.pumps import SqsPump
from local.sandbox import Faults, SandboxServer
from tests.conftest import Api, Brand, campaign_body
from tests.iam_check import Roles, packaged_template
from tests.service.test_send_once import _launched_campaign
from tests.service.test_sending_engine import _deliver


def test_every_function_and_the_api_stage_trace_with_x_ray() -> None:
    template = packaged_template()
    roles = Roles(template)
    functions = [name for name, res in template["Resources"].items()
                 if res["Type"] == "AWS::Serverless::Function"]
    assert len(functions) >= 8
    for name in functions:
        assert template["Resources"][name]["Properties"].get("Tracing") == "Active", name
        role = roles.role_of(name)
        for action in ("xray:PutTraceSegments", "xray:PutTelemetryRecords"):
            assert roles.allows(role, action, "*"), (name, role, action)
    assert template["Resources"]["RestAPI"]["Properties"]["TracingEnabled"] is True


def test_the_send_path_metrics_have_alarms_next_to_the_others() -> None:
    alarms = [res["Properties"] for res in packaged_template()["Resources"].values()
              if res["Type"] == "AWS::CloudWatch::Alarm"]
    watched = {a["MetricName"] for a in alarms if a["Namespace"] == "Proactive"
               and a["AlarmActions"] == [{"Ref": "OpsAlarms"}]}
    assert watched >= {"MessagesFailed", "GatewayLatency", "SlotLateness"}


@pytest.fixture
def log_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The app's structured log lines so far (the JSON Lambda ships to CloudWatch), at DEBUG."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logger.registered_formatter)
    level = logger.log_level
    logger.addHandler(handler)
    logger.setLevel("DEBUG")
    yield lambda: [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]
    logger.removeHandler(handler)
    logger.setLevel(level)


def _emf(output: str) -> list[dict[str, Any]]:
    found = []
    for line in output.splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and "_aws" in doc:
            found.append(doc)
    return found


def _metric(lines: list[dict[str, Any]], name: str, **dimensions: str) -> list[float]:
    """Every value of metric `name` in the EMF lines with exactly these dimensions (+ Stage)."""
    values: list[float] = []
    for line in lines:
        declared = line["_aws"]["CloudWatchMetrics"][0]
        names = {m["Name"] for m in declared["Metrics"]}
        if name in names and declared["Dimensions"] == [["Stage", *sorted(dimensions)]] and \
                all(line.get(k) == v for k, v in dimensions.items()):
            value = line[name]
            values += value if isinstance(value, list) else [value]
    return values


def test_a_send_writes_emf_metrics_of_what_it_sent_and_what_failed(
        api: Api, brand: Brand, sandbox: SandboxServer, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    # this machine is shared by many test runs: allow sends to reach the gateway later
    monkeypatch.setenv("SEND_RATE_MARGIN_SECONDS", "0.3")
    reset_settings()
    phones = ["+12125550181", "+12125550182"]
    cid = _launched_campaign(api, brand, phones)
    sandbox.sandbox.set_faults(Faults(number_errors={phones[1]: 21211}))
    capsys.readouterr()
    try:
        _deliver(brand, cid, phones)
    finally:
        sandbox.sandbox.set_faults(Faults())
    emf = _emf(capsys.readouterr().out)
    assert all(line["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Proactive" for line in emf)
    assert sum(_metric(emf, "MessagesSent")) == 1, emf
    assert sum(_metric(emf, "MessagesFailed", ErrorCode="21211")) == 1, emf
    assert sum(_metric(emf, "MessagesFailed")) == 1, emf
    assert len(_metric(emf, "GatewayLatency")) == 2, emf
    assert len(_metric(emf, "SlotLateness")) == 2, emf


def test_each_log_line_of_an_invocation_names_it_and_its_campaign(
        api: Api, brand: Brand, aws: dict[str, str],
        log_lines: Callable[[], list[dict[str, Any]]]) -> None:
    import boto3
    from chalice.app import SQSEventConfig

    from app import app

    status, body = api.call("POST", "/campaigns", brand, json_body=campaign_body())
    cid = body["id"]
    api.call("POST", f"/campaigns/{cid}/recipients", brand, body="+12125550191",
             content_type="text/plain")
    response = api.client.http.post(f"/campaigns/{cid}/launch", headers={
        **brand.auth(), "Content-Type": "application/json"}, body=json.dumps({"consent": True}))
    assert response.status_code == 200
    assert response.headers[CORRELATION_HEADER]  # what a user quotes to support
    # The control queue's consumer runs the launch, as the local stack's pump delivers it.
    sqs = boto3.session.Session(region_name="us-east-1").client(
        "sqs", endpoint_url=aws["AWS_ENDPOINT_URL"])
    source = next(s for s in app.event_sources
                  if isinstance(s, SQSEventConfig) and s.name == "run_jobs")
    pump = SqsPump(app, "run_jobs", source, sqs, aws["CONTROL_QUEUE_URL"], 0)
    assert pump.poll_once() == 1 and pump.errors == 0
    logger.info("after the invocations")
    lines = log_lines()
    job = [line for line in lines if line.get("function_name") == "run_jobs"]
    assert {line["message"] for line in job} >= {"campaign scheduled"}, lines
    for line in job:
        assert line["campaign_id"] == cid, line
        assert line["function_request_id"] and line["correlation_id"], line
    assert len({line["function_request_id"] for line in job}) == 1
    after = lines[-1]
    assert after["message"] == "after the invocations"
    assert "function_request_id" not in after and "campaign_id" not in after, after
