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


def test_dlq_depth_has_an_alarm(packaged: tuple[Path, dict[str, Any]]) -> None:
    _, template = packaged
    alarms = {name: r["Properties"] for name, r in template["Resources"].items()
              if r["Type"] == "AWS::CloudWatch::Alarm"}
    watched = {a["Dimensions"][0]["Value"]["Fn::GetAtt"][0] for a in alarms.values()
               if a["MetricName"] == "ApproximateNumberOfMessagesVisible"}
    assert {"SendDLQ", "ControlDLQ"} <= watched
