"""The packaged template gives the functions the public URLs they need, with nothing set by hand:
the send consumer names the deployed API for status callbacks; a custom domain is an optional
parameter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.service.test_template import packaged  # noqa: F401 - the packaged template fixture


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
