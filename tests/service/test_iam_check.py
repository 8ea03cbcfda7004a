"""The IAM check itself (tests/iam_check.py): it refuses a call the caller's role lacks, names
the function, action and resource, and each function has a role and log group of its own."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.store import messages
from local.pumps import API_FUNCTION
from local.sandbox import Faults, SandboxServer
from tests import awscalls, iam_check
from tests.conftest import Api, Brand
from tests.iam_check import Recorder, Roles, packaged_template, table_arn
from tests.service.test_send_once import _launched_campaign
from tests.service.test_sending_engine import _deliver

METRICS = table_arn("MetricsTable")
OPT_OUT_COUNT = ("dynamodb", "UpdateItem", {"TableName": "MetricsTable",
                                            "Key": {"pk": {"S": "campaign#c1"}}})


def test_a_carrier_opt_out_is_stored_by_the_send_consumers_own_role(
        api: Api, brand: Brand, sandbox: SandboxServer) -> None:
    """The gateway answers 21610 (the consumer blocked the sender at the carrier): the message
    ends SKIPPED (not left in SENDING) and the brand's opt-outs list the consumer (source
    `gateway`), with every call made as the send consumer's role allows (issue 12: it had no
    grant on MetricsTable). The opt-out rate does not count it: that consumer never received a
    message (PRODUCT: opt-outs after receiving one)."""
    cid = _launched_campaign(api, brand, ["+12125550177"])
    sandbox.sandbox.set_faults(Faults(number_errors={"+12125550177": 21610}))
    try:
        assert _deliver(brand, cid, ["+12125550177"]) == {"batchItemFailures": []}
    finally:
        sandbox.sandbox.set_faults(Faults())
    message = next(iter(messages.iter_campaign(cid, consistent=True)))
    assert (message.status, message.error_code) == ("SKIPPED", "OPTED_OUT")
    status, listed = api.call("GET", "/optouts?phone=%2B12125550177", brand, role="admin")
    assert status == 200 and [i["source"] for i in listed["items"]] == ["gateway"], listed


def _without_grant(template: dict[str, Any], role: str, resource: str) -> dict[str, Any]:
    """The template with every grant of `role` on `resource` (a Fn::GetAtt target) removed."""
    changed = copy.deepcopy(template)
    for policy in changed["Resources"][role]["Properties"]["Policies"]:
        for statement in policy["PolicyDocument"]["Statement"]:
            resources = statement["Resource"]
            if isinstance(resources, list):
                statement["Resource"] = [r for r in resources
                                         if r != {"Fn::GetAtt": [resource, "Arn"]}] or ["none"]
            elif resources == {"Fn::GetAtt": [resource, "Arn"]}:
                statement["Resource"] = "none"
    return changed


def test_a_call_the_role_lacks_is_refused_naming_function_action_and_resource() -> None:
    template = packaged_template()
    assert Roles(template).denied("send_messages", *OPT_OUT_COUNT) == []
    recorder = Recorder(Roles(_without_grant(template, "SendMessagesRole", "MetricsTable")))
    with pytest.raises(ClientError) as refused_call:  # as AWS refuses it
        recorder(*OPT_OUT_COUNT, "send_messages")
    assert refused_call.value.response["Error"]["Code"] == "AccessDeniedException"
    recorder(*OPT_OUT_COUNT, None)  # outside any function (a fixture): not checked
    refused = recorder.take()
    assert [str(r) for r in refused] == [
        f"SendMessages (role SendMessagesRole) may not dynamodb:UpdateItem on {METRICS}"]


def test_the_recorder_sees_real_calls_made_by_a_function_and_their_threads(
        aws: dict[str, str], iam_recorder: Recorder) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from chalicelib import aws as aws_clients

    # The send consumer scans the API keys table from a worker thread: its role has no grant.
    with awscalls.acting_as("send_messages"), ThreadPoolExecutor(1) as pool, \
            pytest.raises(ClientError, match="AccessDenied"):
        pool.submit(aws_clients.client("dynamodb").scan,
                    TableName=aws["API_KEYS_TABLE"]).result()
    with awscalls.acting_as(API_FUNCTION):  # granted to the API
        aws_clients.client("dynamodb").describe_table(TableName=aws["API_KEYS_TABLE"])
    refused = iam_recorder.take()  # taken here, so this test's own check passes
    assert [(r.function, r.action, r.resource) for r in refused] == [
        ("send_messages", "dynamodb:Scan", table_arn(aws["API_KEYS_TABLE"]))]


@pytest.mark.parametrize(("call", "expected"), [
    (("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"ConditionCheck": {"TableName": "t1"}}, {"Update": {"TableName": "t2"}}]}),
     [("dynamodb:ConditionCheckItem", table_arn("t1")), ("dynamodb:UpdateItem", table_arn("t2"))]),
    (("dynamodb", "Query", {"TableName": "t", "IndexName": "by-x"}),
     [("dynamodb:Query", table_arn("t") + "/index/by-x")]),
    (("sqs", "DeleteMessageBatch", {"QueueUrl": "http://127.0.0.1:5000/123456789012/q"}),
     [("sqs:DeleteMessage", "arn:aws:sqs:us-east-1:123456789012:q")]),
    (("s3", "HeadObject", {"Bucket": "b", "Key": "uploads/x.csv"}),
     [("s3:GetObject", "arn:aws:s3:::b/uploads/x.csv")]),
    (("ssm", "GetParameter", {"Name": "/proactive/dev/twilio/auth-token"}),
     [("ssm:GetParameter",
       "arn:aws:ssm:us-east-1:123456789012:parameter/proactive/dev/twilio/auth-token")]),
    (("events", "PutEvents", {"Entries": [{"EventBusName": "bus"}]}),
     [("events:PutEvents", "arn:aws:events:us-east-1:123456789012:event-bus/bus")]),
])
def test_each_call_needs_the_actions_and_resources_iam_authorizes(
        call: tuple[str, str, dict[str, Any]], expected: list[tuple[str, str]]) -> None:
    assert iam_check.required(*call) == expected


def test_no_two_functions_share_a_role_and_each_has_its_own_log_group() -> None:
    resources = packaged_template()["Resources"]
    functions = {name: res["Properties"] for name, res in resources.items()
                 if res["Type"] == "AWS::Serverless::Function"}
    roles = [props["Role"]["Fn::GetAtt"][0] for props in functions.values()]
    assert len(set(roles)) == len(roles), roles
    log_groups = {res["Properties"]["LogGroupName"]["Fn::Sub"] for res in resources.values()
                  if res["Type"] == "AWS::Logs::LogGroup"}
    for name, props in functions.items():
        assert "FunctionName" in props, name
        assert "/aws/lambda/" + props["FunctionName"]["Fn::Sub"] in log_groups, name
