"""The one description of the AWS resources, read from infra/resources/*.yaml.

The fragments are deep-merged into one CloudFormation fragment. `infra.build` hands it to
`chalice package --merge-template`; `infra.local_stack` creates the same resources on moto server;
the tests compare it with the pynamodb models.
"""

from __future__ import annotations

import copy
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


def load_fragment(stage: str = "dev") -> dict[str, Any]:
    """All fragments merged, with the Stage parameter defaulting to `stage`."""
    merged: dict[str, Any] = {}
    for path in sorted(RESOURCES_DIR.glob("*.yaml")):
        merged = deep_merge(merged, yaml.safe_load(path.read_text()) or {})
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


class Resolver:
    """Resolves the intrinsic functions we use (Ref, Fn::GetAtt, Fn::Sub) with local values."""

    def __init__(self, refs: dict[str, Any], attrs: dict[tuple[str, str], Any]) -> None:
        self.refs = refs
        self.attrs = attrs

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"}:
                return self.refs[value["Ref"]]
            if set(value) == {"Fn::GetAtt"}:
                name, attr = value["Fn::GetAtt"]
                return self.attrs[(name, attr)]
            if set(value) == {"Fn::Sub"}:
                text = value["Fn::Sub"]
                return _SUB_VAR.sub(lambda m: str(self._sub_value(m.group(1))), text)
            if set(value) == {"Fn::Join"}:
                sep, parts = value["Fn::Join"]
                return sep.join(str(self.resolve(p)) for p in parts)
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def _sub_value(self, name: str) -> Any:
        if "." in name:
            res, attr = name.split(".", 1)
            return self.attrs[(res, attr)]
        return self.refs[name]
