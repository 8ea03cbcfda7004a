"""The local API answers what the API does not have as API Gateway does with our gateway
responses (infra/resources/api.yaml): JSON in the API's error shape, never HTML or chalice's."""

from __future__ import annotations

import http.client
import json
from typing import Any

from infra.template import gateway_response, load_fragment
from local.local_stack import LocalStack


def _call(stack: LocalStack, method: str, path: str,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    connection = http.client.HTTPConnection("127.0.0.1", stack.api_port, timeout=30)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        raw = response.read()
        return response.status, dict(response.getheaders()), raw
    finally:
        connection.close()


def test_methods_and_paths_the_api_does_not_have_get_json_errors(stack: LocalStack) -> None:
    # methods the server knows no handler for (TRACE was a 501 HTML page), and methods that a
    # known path does not take (chalice's own {"Code": ...} shape)
    for method, path, allowed in [("TRACE", "/health", "GET"), ("TRACE", "/nowhere", None),
                                  ("CONNECT", "/campaigns", "GET, POST"),
                                  ("PROPFIND", "/campaigns", "GET, POST"),
                                  ("PUT", "/health", "GET"), ("DELETE", "/campaigns", "GET, POST")]:
        status, headers, raw = _call(stack, method, path)
        assert (status, headers.get("Content-Type")) == (405, "application/json"), (
            method, path, status, raw[:200])
        error = json.loads(raw)["error"]
        assert error["code"] == "METHOD_NOT_ALLOWED" and method in error["message"], error
        if allowed:
            assert sorted(headers["Allow"].split(", ")) == sorted(allowed.split(", ")), headers

    # a path the API does not have: what API Gateway answers (MISSING_AUTHENTICATION_TOKEN), with
    # or without a key (chalice local told them apart with two different 403 bodies)
    expected_status, expected_body = gateway_response(load_fragment(),
                                                      "MISSING_AUTHENTICATION_TOKEN")
    for headers_sent in ({}, {"Authorization": "Bearer pk_whatever"}):
        status, headers, raw = _call(stack, "GET", "/no/such/path", headers_sent)
        assert (status, headers.get("Content-Type")) == (expected_status, "application/json")
        assert json.loads(raw) == json.loads(expected_body)
        assert json.loads(raw)["error"]["code"] == "ROUTE_NOT_FOUND"
