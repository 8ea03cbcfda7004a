"""What a deployment needs and nobody sets by hand: the send consumer names the deployed API
for status callbacks (a custom domain is an optional parameter); the functions that talk to the
gateway may read brands' credentials in Secrets Manager; the cursor key is generated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.service.test_template import (
    _grants,
    packaged,  # noqa: F401 - the packaged template fixture
)


def test_send_consumer_names_the_deployed_api_for_status_callbacks(
        packaged: tuple[Path, dict[str, Any]]) -> None:  # noqa: F811
    _, template = packaged
    resources = template["Resources"]
    stage = resources["RestAPI"]["Properties"]["StageName"]
    assert resources["RestAPI"]["Type"] == "AWS::Serverless::Api"
    variables = resources["SendMessages"]["Properties"]["Environment"]["Variables"]
    assert variables["API_BASE_URL"] == {
        "Fn::Sub": f"https://${{RestAPI}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{stage}/"}
    # The same URL chalice reports as the API's endpoint.
    assert variables["API_BASE_URL"] == template["Outputs"]["EndpointURL"]["Value"]


def test_public_base_url_is_an_optional_parameter(
        packaged: tuple[Path, dict[str, Any]]) -> None:  # noqa: F811
    _, template = packaged
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["PUBLIC_BASE_URL"] == {"Ref": "PublicBaseUrl"}
    assert template["Parameters"]["PublicBaseUrl"]["Default"] == ""


def test_gateway_users_may_read_brands_secrets_manager_credentials(
        packaged: tuple[Path, dict[str, Any]]) -> None:  # noqa: F811
    _, template = packaged
    brands = {"Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:"
                         "${AWS::AccountId}:secret:proactive/${Stage}/*"}
    # The API (webhooks, answers, templates), the send consumer, the expired-claim sweep.
    for role in ("DefaultRole", "SendMessagesRole", "EveryMinuteRole"):
        assert _grants(template, role, "secretsmanager:GetSecretValue", brands), role
        # ...and find which account the brand uses.
        assert _grants(template, role, "dynamodb:GetItem", {"Fn::GetAtt": ["BrandsTable", "Arn"]})


def test_the_cursor_key_is_generated_and_only_the_api_reads_it(
        packaged: tuple[Path, dict[str, Any]]) -> None:  # noqa: F811
    _, template = packaged
    secret = template["Resources"]["CursorKeySecret"]
    assert secret["Type"] == "AWS::SecretsManager::Secret"
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["CURSOR_KEY_PARAM"] == {"Ref": "CursorKeySecret"}
    key = {"Ref": "CursorKeySecret"}
    assert _grants(template, "DefaultRole", "secretsmanager:GetSecretValue", key)
    assert not _grants(template, "SendMessagesRole", "secretsmanager:GetSecretValue", key)
