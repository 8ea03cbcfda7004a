"""The one description of the AWS resources, read from infra/resources/*.yaml.

The fragments are deep-merged into one CloudFormation fragment. `infra.build` hands it to
`chalice package --merge-template`; `local.local_stack` creates the same resources on moto server;
the tests compare it with the pynamodb models.
"""

from __future__ import annotations

import copy
import functools
import re
from pathlib import Path
from typing import Any

import yaml

RESOURCES_DIR = Path(__file__).parent / "resources"


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.lru_cache(maxsize=64)
def _parsed(path: Path, modified_ns: int) -> dict[str, Any]:
    """One fragment, parsed once per version of the file (every service test builds the
    resources again: parsing the YAML each time cost more than creating them)."""
    return yaml.load(path.read_text(), Loader=_LOADER) or {}  # noqa: S506 (a safe loader)


def load_fragment(stage: str = "dev") -> dict[str, Any]:
    """All fragments merged, with the Stage parameter defaulting to `stage` (the caller's own
    copy)."""
    versions = tuple((path, path.stat().st_mtime_ns)
                     for path in sorted(RESOURCES_DIR.glob("*.yaml")))
    return copy.deepcopy(_merged(stage, versions))


@functools.lru_cache(maxsize=8)
def _merged(stage: str, versions: tuple[tuple[Path, int], ...]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for path, modified_ns in versions:
        merged = deep_merge(merged, _parsed(path, modified_ns))
    merged.setdefault("Parameters", {})["Stage"] = {
        "Type": "String",
        "Default": stage,
        "Description": "Stage name; must match the stage the app was packaged for.",
    }
    return merged


def resources_of_type(fragment: dict[str, Any], cfn_type: str) -> dict[str, dict[str, Any]]:
    return {
        name: res
        for name, res in fragment.get("Resources", {}).items()
        if res.get("Type") == cfn_type
    }


def environment_variables(fragment: dict[str, Any]) -> dict[str, Any]:
    env: dict[str, Any] = (
        fragment.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    )
    return env


_SUB_VAR = re.compile(r"\$\{([A-Za-z0-9_.:]+)\}")


_NO_VALUE = object()  # AWS::NoValue: the list item or property is left out


class Resolver:
    """Resolves the intrinsic functions we use (Ref, Fn::GetAtt, Fn::Sub, Fn::Join, Fn::If and the
    conditions of `conditions`) with local values."""

    def __init__(self, refs: dict[str, Any], attrs: dict[tuple[str, str], Any],
                 conditions: dict[str, Any] | None = None) -> None:
        self.refs = refs
        self.attrs = attrs
        self.conditions = conditions or {}

    def condition(self, value: Any) -> bool:
        """A condition (by name, or Fn::Equals / Fn::Not / Fn::And / Fn::Or) as true or false."""
        if isinstance(value, str):
            return self.condition(self.conditions[value])
        if "Condition" in value:
            return self.condition(value["Condition"])
        (function, args), = value.items()
        if function == "Fn::Equals":
            return bool(self.resolve(args[0]) == self.resolve(args[1]))
        if function == "Fn::Not":
            return not self.condition(args[0])
        if function == "Fn::And":
            return all(self.condition(a) for a in args)
        if function == "Fn::Or":
            return any(self.condition(a) for a in args)
        raise ValueError(f"unsupported condition {function}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if value == {"Ref": "AWS::NoValue"}:
                return _NO_VALUE
            if set(value) == {"Ref"}:
                return self.refs[value["Ref"]]
            if set(value) == {"Fn::If"}:
                name, if_true, if_false = value["Fn::If"]
                return self.resolve(if_true if self.condition(name) else if_false)
            if set(value) == {"Fn::GetAtt"}:
                name, attr = value["Fn::GetAtt"]
                return self.attrs[(name, attr)]
            if set(value) == {"Fn::Sub"}:
                text = value["Fn::Sub"]
                return _SUB_VAR.sub(lambda m: str(self._sub_value(m.group(1))), text)
            if set(value) == {"Fn::Join"}:
                sep, parts = value["Fn::Join"]
                return sep.join(str(self.resolve(p)) for p in parts)
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not _NO_VALUE}
        if isinstance(value, list):
            return [v for v in (self.resolve(v) for v in value) if v is not _NO_VALUE]
        return value

    def _sub_value(self, name: str) -> Any:
        if "." in name:
            res, attr = name.split(".", 1)
            return self.attrs[(res, attr)]
        return self.refs[name]


def gateway_response(fragment: dict[str, Any], response_type: str) -> tuple[int, str]:
    """(status, JSON body) of one of API Gateway's own answers in infra/resources/api.yaml, for
    the local server to answer the same."""
    body = fragment["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    response = body["x-amazon-apigateway-gateway-responses"][response_type]
    return int(response["statusCode"]), str(response["responseTemplates"]["application/json"])


def sqs_batching(fragment: dict[str, Any], handler: str) -> tuple[int, float] | None:
    """The batch size and batching window (seconds) the template gives the SQS event source of
    chalice handler `handler` (resource `HandlerName`, event `HandlerNameSqsEventSource`), or
    None when it keeps chalice's own batch size and no window."""
    from chalice.utils import to_cfn_resource_name

    resource = to_cfn_resource_name(handler)
    events = fragment.get("Resources", {}).get(resource, {}).get("Properties", {}).get(
        "Events", {})
    settings = events.get(f"{resource}SqsEventSource", {}).get("Properties", {})
    if "BatchSize" not in settings:
        return None
    return int(settings["BatchSize"]), float(settings.get("MaximumBatchingWindowInSeconds", 0))
