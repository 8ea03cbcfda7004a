"""The packaged CloudFormation template: valid, and carrying what chalice alone cannot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("package")
    merge = out / "merge.json"
    env = {**os.environ, "AWS_DEFAULT_REGION": "us-east-1", "PROACTIVE_STAGE": "prod"}
    subprocess.run([sys.executable, "-m", "infra.build", "--stage", "prod", "--out", str(merge)],
                   cwd=ROOT, env=env, check=True, capture_output=True)
    chalice = Path(sys.executable).parent / "chalice"
    subprocess.run([str(chalice), "package", "--stage", "prod", "--merge-template", str(merge),
                    str(out / "dist")], cwd=ROOT, env=env, check=True, capture_output=True)
    path = out / "dist" / "sam.json"
    return path, json.loads(path.read_text())


def test_cfn_lint_passes(packaged: tuple[Path, dict[str, Any]]) -> None:
    path, _ = packaged
    lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run([str(lint), str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_send_queue_reports_partial_batch_failures(
        packaged: tuple[Path, dict[str, Any]]) -> None:
    _, template = packaged
    events = template["Resources"]["SendMessages"]["Properties"]["Events"]
    props = events["SendMessagesSqsEventSource"]["Properties"]
    assert props["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = template["Resources"]["SendQueue"]["Properties"]
    assert props["Queue"]["Fn::Sub"].endswith(":" + queue["QueueName"]["Fn::Sub"].replace(
        "${Stage}", "prod"))


def test_visibility_timeout_is_at_least_six_times_the_consumer_timeout(
        packaged: tuple[Path, dict[str, Any]]) -> None:
    _, template = packaged
    resources = template["Resources"]
    for function, queue in (("SendMessages", "SendQueue"), ("RunJobs", "ControlQueue")):
        timeout = resources[function]["Properties"]["Timeout"]
        visibility = resources[queue]["Properties"]["VisibilityTimeout"]
        assert visibility >= 6 * timeout, (function, timeout, visibility)
        assert "RedrivePolicy" in resources[queue]["Properties"]


def test_metrics_read_the_messages_table_stream(packaged: tuple[Path, dict[str, Any]]) -> None:
    _, template = packaged
    events = template["Resources"]["AggregateMetrics"]["Properties"]["Events"]
    stream = events["AggregateMetricsDynamodbEventSource"]["Properties"]["Stream"]
    assert stream == {"Fn::GetAtt": ["MessagesTable", "StreamArn"]}


# --- least privilege, secrets, ops (issue 7) --------------------------------------------------

# Actions that AWS does not scope to a resource: only these may have Resource "*".
NO_RESOURCE_LEVEL = {"cloudwatch:PutMetricData", "xray:PutTraceSegments",
                     "xray:PutTelemetryRecords"}
EVENT_HANDLERS = ("SendMessages", "RunJobs", "ReleaseDue", "AggregateMetrics")


def _statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        documents = []
        if resource["Type"] == "AWS::IAM::Role":
            documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
        elif resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy"):
            documents = [props["PolicyDocument"]]
        for document in documents:
            statements = document["Statement"]
            for statement in statements if isinstance(statements, list) else [statements]:
                found.append((name, statement))
    return found


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _resource_text(resource: Any) -> str | None:
    """The ARN pattern a Resource entry stands for; None for Ref / Fn::GetAtt (one resource)."""
    if isinstance(resource, str):
        return resource
    if "Fn::Sub" in resource:
        sub = resource["Fn::Sub"]
        return str(sub[0] if isinstance(sub, list) else sub)
    return None


def _too_broad(text: str) -> bool:
    if text.startswith("${"):  # ${Table.Arn}/index/*: within one resource of the template
        return "*" in text.split("}", 1)[0]
    if not text.startswith("arn:"):
        return True  # "*" and the like
    parts = text.split(":", 5)
    return len(parts) < 6 or any("*" in p for p in parts[:5]) or parts[5].startswith("*")


def _role_of(template: dict[str, Any], function: str) -> str:
    return str(template["Resources"][function]["Properties"]["Role"]["Fn::GetAtt"][0])


def _grants(template: dict[str, Any], role: str, action: str, resource: Any) -> bool:
    attached = {name for name, res in template["Resources"].items()
                if res["Type"] == "AWS::IAM::ManagedPolicy"
                and {"Ref": role} in res["Properties"].get("Roles", [])}
    return any(
        action in _as_list(st["Action"]) and resource in _as_list(st["Resource"])
        for name, st in _statements(template) if name == role or name in attached)


def test_no_policy_uses_a_wildcard_where_an_arn_fits(
        packaged: tuple[Path, dict[str, Any]]) -> None:
    _, template = packaged
    statements = _statements(template)
    assert len(statements) > 10
    for name, statement in statements:
        actions = _as_list(statement["Action"])
        assert not [a for a in actions if "*" in a], (name, actions)
        for resource in _as_list(statement["Resource"]):
            text = _resource_text(resource)
            if text is not None and _too_broad(text):
                assert set(actions) <= NO_RESOURCE_LEVEL, (name, actions, text)


def test_each_event_handler_runs_as_its_own_role(packaged: tuple[Path, dict[str, Any]]) -> None:
    _, template = packaged
    roles = [_role_of(template, function) for function in EVENT_HANDLERS]
    assert roles == [f"{function}Role" for function in EVENT_HANDLERS]
    assert _role_of(template, "APIHandler") == "DefaultRole"
    # The API may not consume the send queue, and the send consumer may not read API keys.
    assert not _grants(template, "DefaultRole", "sqs:ReceiveMessage",
                       {"Fn::GetAtt": ["SendQueue", "Arn"]})
    assert not _grants(template, "SendMessagesRole", "dynamodb:GetItem",
                       {"Fn::GetAtt": ["ApiKeysTable", "Arn"]})


def test_every_event_source_is_readable_by_its_functions_role(
        packaged: tuple[Path, dict[str, Any]]) -> None:
    _, template = packaged
    resources = template["Resources"]
    queues = {res["Properties"]["QueueName"]["Fn::Sub"].replace("${Stage}", "prod"): name
              for name, res in resources.items() if res["Type"] == "AWS::SQS::Queue"}
    checked = 0
    for function, res in resources.items():
        if res["Type"] != "AWS::Serverless::Function":
            continue
        role = _role_of(template, function)
        for event in res["Properties"].get("Events", {}).values():
            if event["Type"] == "SQS":
                queue = queues[event["Properties"]["Queue"]["Fn::Sub"].rsplit(":", 1)[1]]
                for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage",
                               "sqs:GetQueueAttributes"):
                    assert _grants(template, role, action, {"Fn::GetAtt": [queue, "Arn"]}), (
                        function, action)
                checked += 1
            elif event["Type"] == "DynamoDB":
                stream = event["Properties"]["Stream"]
                for action in ("dynamodb:GetRecords", "dynamodb:GetShardIterator",
                               "dynamodb:DescribeStream"):
                    assert _grants(template, role, action, stream), (function, action)
                checked += 1
    assert checked >= 3


def test_send_consumer_concurrency_matches_the_sender_limits(
        packaged: tuple[Path, dict[str, Any]]) -> None:
    from chalicelib.domain.brand_rules import SENDER_RATE_DEFAULTS

    _, template = packaged
    source = template["Resources"]["SendMessages"]["Properties"]["Events"][
        "SendMessagesSqsEventSource"]["Properties"]
    concurrency = source["ScalingConfig"]["MaximumConcurrency"]
    batch = source["BatchSize"]
    # Little's law: to keep the fastest sender (short code, 100/s) busy with sends that take up
    # to half a second at the gateway, rate x latency sends must be in flight; each consumer
    # holds at most one batch. More consumers than that only reserve slots ahead and requeue.
    in_flight_needed = max(SENDER_RATE_DEFAULTS.values()) * 0.5
    assert 2 <= concurrency <= 10  # 2 is Lambda's minimum for SQS maximum concurrency
    assert concurrency * batch >= in_flight_needed
    jobs = template["Resources"]["RunJobs"]["Properties"]["Events"]["RunJobsSqsEventSource"]
    assert jobs["Properties"]["ScalingConfig"]["MaximumConcurrency"] >= 2


def test_ops_alarms_watch_dlqs_errors_throttles_and_stream_age(
        packaged: tuple[Path, dict[str, Any]]) -> None:
    _, template = packaged
    alarms = [res["Properties"] for res in template["Resources"].values()
              if res["Type"] == "AWS::CloudWatch::Alarm"]
    watched = set()
    for alarm in alarms:
        assert alarm["AlarmActions"] == [{"Ref": "OpsAlarms"}]
        dimension = alarm["Dimensions"][0]["Value"]
        if isinstance(dimension, dict):
            target = dimension.get("Ref") or dimension.get("Fn::GetAtt", [None])[0]
        else:
            target = dimension
        watched.add((alarm["MetricName"], target))
    assert {("ApproximateNumberOfMessagesVisible", "SendDLQ"),
            ("ApproximateNumberOfMessagesVisible", "ControlDLQ"),
            ("Errors", "SendMessages"), ("Throttles", "SendMessages"),
            ("Errors", "RunJobs"), ("Throttles", "RunJobs"),
            ("Errors", "AggregateMetrics"), ("Throttles", "AggregateMetrics"),
            ("IteratorAge", "AggregateMetrics")} <= watched
    dashboard = template["Resources"]["OpsDashboard"]["Properties"]["DashboardBody"]
    body = dashboard["Fn::Sub"][0]
    for function in EVENT_HANDLERS:
        assert "${" + function + "}" in body
    json.loads(body)  # valid JSON once substituted (placeholders sit inside strings)


def test_secrets_reach_the_functions_by_reference_only(
        packaged: tuple[Path, dict[str, Any]]) -> None:
    _, template = packaged
    env = dict(template["Globals"]["Function"]["Environment"]["Variables"])
    for res in template["Resources"].values():
        if res["Type"] == "AWS::Serverless::Function":
            env.update(res["Properties"].get("Environment", {}).get("Variables", {}))
    secret_like = [k for k in env if any(w in k for w in ("TOKEN", "SECRET", "PASSWORD"))]
    assert sorted(secret_like) == ["TWILIO_AUTH_TOKEN_PARAM"]
    assert env["TWILIO_AUTH_TOKEN_PARAM"] == {
        "Fn::Sub": "/proactive/${Stage}/twilio/auth-token"}
    assert _grants(template, "SendMessagesRole", "ssm:GetParameter", {"Fn::Sub": (
        "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/proactive/"
        "${Stage}/*")})
def test_uploads_bucket_invokes_the_csv_parser(packaged: tuple[Path, dict[str, Any]]) -> None:
    _, template = packaged
    resources = template["Resources"]
    assert resources["ParseUpload"]["Type"] == "AWS::Serverless::Function"
    bucket = resources["UploadsBucket"]["Properties"]
    [notification] = bucket["NotificationConfiguration"]["LambdaConfigurations"]
    assert notification["Event"] == "s3:ObjectCreated:*"
    assert notification["Function"] == {"Fn::GetAtt": ["ParseUpload", "Arn"]}
    permission = resources["ParseUploadS3Permission"]["Properties"]
    assert permission["Principal"] == "s3.amazonaws.com"
    # The functions name the bucket by the same fixed name (a Ref would be circular).
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["UPLOADS_BUCKET"] == bucket["BucketName"]
    assert resources["ParseUpload"]["Properties"]["Timeout"] == 900
    # a parse that crashed on every try is kept for ops, not dropped
    invoke = resources["ParseUpload"]["Properties"]["EventInvokeConfig"]
    destination = {"Fn::GetAtt": ["FailedInvocationsQueue", "Arn"]}
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"] == destination
    assert _grants(template, "DefaultRole", "sqs:SendMessage", destination)
def test_dlq_depth_has_an_alarm(packaged: tuple[Path, dict[str, Any]]) -> None:
    _, template = packaged
    alarms = {name: r["Properties"] for name, r in template["Resources"].items()
              if r["Type"] == "AWS::CloudWatch::Alarm"}
    watched = {a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for a in alarms.values()
               if a["MetricName"] == "ApproximateNumberOfMessagesVisible"}
    assert {"SendDLQ", "ControlDLQ", "FailedInvocationsQueue"} <= watched


def test_stream_batches_that_keep_failing_are_kept_not_skipped(
        packaged: tuple[Path, dict[str, Any]]) -> None:
    _, template = packaged
    resources = template["Resources"]
    readers = [(name, event["Properties"]) for name, res in resources.items()
               if res["Type"] == "AWS::Serverless::Function"
               for event in res["Properties"].get("Events", {}).values()
               if event["Type"] == "DynamoDB"]
    assert {name for name, _ in readers} == {"AggregateMetrics", "MatchStatusCallbacks"}
    destination = {"Fn::GetAtt": ["FailedInvocationsQueue", "Arn"]}
    for name, props in readers:
        assert props["BisectBatchOnFunctionError"] is True
        assert props["DestinationConfig"]["OnFailure"]["Destination"] == destination
        assert _grants(template, f"{name}Role", "sqs:SendMessage", destination), name
