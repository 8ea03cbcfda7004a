"""Every AWS call a function makes must be allowed by that function's own role in the packaged
template (issue 12 point 2): moto enforces no IAM, so without this check a missing grant shows
only on AWS, as an AccessDenied.

- `packaged_template()` builds the template as `make package` does (stage dev, the local stack's
  stage), once per set of inputs: the result is cached under build/iam-check/<hash of the
  inputs>/ and shared by pytest-xdist workers through a file lock.
- `required(service, operation, params)` names the IAM actions and resource ARNs one call needs,
  derived from its parameters (TableName, QueueUrl, Bucket/Key, Name, SecretId, EventBusName...).
- `Roles(template).denied(function, service, operation, params)` evaluates them against the
  Allow/Deny statements of the function's role (inline policies and the managed policies
  attached to it), with `Ref`/`Fn::GetAtt`/`Fn::Sub` resolved to the names and ARNs the local
  stack has on moto (account 123456789012, us-east-1). Conditions are not evaluated (we write
  none).
- `Recorder` is the observer tests/awscalls.py calls with each call and the function making it.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError
from chalice.utils import to_cfn_resource_name

from infra.template import Resolver
from local.local_resources import ACCOUNT, REGION

ROOT = Path(__file__).resolve().parent.parent
STAGE = "dev"
CACHE_DIR = ROOT / "build" / "iam-check"
# What the packaged template is made of: a change to any of these builds it again.
_INPUTS = ("app.py", ".chalice/config.json", "requirements.txt", "infra/template.py",
           "infra/build.py")
_INPUT_GLOBS = ("infra/resources/*.yaml",)


# --- the template ---------------------------------------------------------------------------

def _inputs_digest() -> str:
    digest = hashlib.sha256()
    paths = [ROOT / p for p in _INPUTS]
    for pattern in _INPUT_GLOBS:
        paths += sorted(ROOT.glob(pattern))
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@cache
def packaged_template() -> dict[str, Any]:
    """dist/sam.json as `make package` writes it for the local stack's stage."""
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    out = CACHE_DIR / _inputs_digest()
    template = out / "dist" / "sam.json"
    with open(CACHE_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build for all test workers
        if not template.exists():
            env = {**os.environ, "AWS_DEFAULT_REGION": REGION, "PROACTIVE_STAGE": STAGE}
            merge = out / "merge.json"
            subprocess.run([sys.executable, "-m", "infra.build", "--stage", STAGE, "--out",
                            str(merge)], cwd=ROOT, env=env, check=True, capture_output=True)
            chalice = Path(sys.executable).parent / "chalice"
            subprocess.run([str(chalice), "package", "--stage", STAGE, "--merge-template",
                            str(merge), str(out / "dist")], cwd=ROOT, env=env, check=True,
                           capture_output=True)
            (out / "dist" / "deployment.zip").unlink(missing_ok=True)  # 30 MB, not needed
    return dict(json.loads(template.read_text()))


def logical_id(function: str) -> str:
    """The template's name of a function: chalice's handler name in CamelCase
    (send_messages -> SendMessages); the API's function is already named so (APIHandler)."""
    return function if function[:1].isupper() else to_cfn_resource_name(function)


# --- the ARNs a call touches -------------------------------------------------------------------

def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def table_arn(name: str) -> str:
    return _arn("dynamodb", f"table/{name}")


def queue_arn(url: str) -> str:
    return _arn("sqs", urlparse(url).path.rstrip("/").rsplit("/", 1)[-1])


def _table_or_index(params: dict[str, Any]) -> str:
    arn = table_arn(params["TableName"])
    return f"{arn}/index/{params['IndexName']}" if params.get("IndexName") else arn


_TRANSACT_ACTIONS = {"ConditionCheck": "ConditionCheckItem", "Put": "PutItem",
                     "Update": "UpdateItem", "Delete": "DeleteItem", "Get": "GetItem"}
# Batch operations that IAM authorizes as their single-entry action.
_SQS_ACTIONS = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
                "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}
_S3_ACTIONS = {"HeadObject": "GetObject", "ListObjectsV2": "ListBucket",
               "ListObjects": "ListBucket", "HeadBucket": "ListBucket",
               "CreateMultipartUpload": "PutObject", "UploadPart": "PutObject",
               "CompleteMultipartUpload": "PutObject"}
# Calls no IAM policy governs.
_UNGOVERNED = {("sts", "GetCallerIdentity")}


class UnknownCall(LookupError):
    """No rule here derives the resource of this call: add one (never guess "*")."""


def required(service: str, operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs one call needs."""
    if (service, operation) in _UNGOVERNED:
        return []
    if service == "dynamodb":
        return _dynamodb(operation, params)
    if service == "sqs":
        action = f"sqs:{_SQS_ACTIONS.get(operation, operation)}"
        if "QueueUrl" in params:
            return [(action, queue_arn(params["QueueUrl"]))]
        if "QueueName" in params:
            return [(action, _arn("sqs", params["QueueName"]))]
    if service == "s3" and "Bucket" in params:
        action = f"s3:{_S3_ACTIONS.get(operation, operation)}"
        key = params.get("Key")
        return [(action, f"arn:aws:s3:::{params['Bucket']}" + (f"/{key}" if key else ""))]
    if service == "ssm":
        names = params.get("Names") or [params["Name"]]
        return [(f"ssm:{operation}", _arn("ssm", "parameter/" + n.lstrip("/"))) for n in names]
    if service == "secretsmanager":
        secret = params["SecretId"]
        # A secret's ARN ends with a random 6-character suffix after its name.
        arn = secret if secret.startswith("arn:") else _arn("secretsmanager",
                                                             f"secret:{secret}-AbCdEf")
        return [(f"secretsmanager:{operation}", arn)]
    if service == "events" and operation == "PutEvents":
        buses = {e.get("EventBusName") or "default" for e in params["Entries"]}
        return [("events:PutEvents", b if b.startswith("arn:") else _arn("events",
                                                                        f"event-bus/{b}"))
                for b in sorted(buses)]
    raise UnknownCall(f"{service}:{operation}")


def _dynamodb(operation: str, params: dict[str, Any]) -> list[tuple[str, str]]:
    if operation in ("TransactWriteItems", "TransactGetItems"):
        # IAM authorizes each item as its own action on its table.
        needed = []
        for item in params["TransactItems"]:
            (kind, body), = item.items()
            needed.append((f"dynamodb:{_TRANSACT_ACTIONS[kind]}", table_arn(body["TableName"])))
        return needed
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [(f"dynamodb:{operation}", table_arn(t)) for t in params["RequestItems"]]
    if "StreamArn" in params:  # dynamodbstreams signs as dynamodb
        return [(f"dynamodb:{operation}", params["StreamArn"])]
    if operation == "ListStreams":
        return [("dynamodb:ListStreams", table_arn(params.get("TableName", "*")) + "/stream/*")]
    if "TableName" in params:
        return [(f"dynamodb:{operation}", _table_or_index(params))]
    raise UnknownCall(f"dynamodb:{operation}")


# --- the roles -----------------------------------------------------------------------------------

class _LocalNames(dict[str, Any]):
    """`Ref` of a template resource -> its physical name in the local stack (tables, queues,
    buckets and buses are created on moto from the same fragments, with these names)."""

    def __init__(self, roles: Roles) -> None:
        super().__init__({"Stage": STAGE, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
                          "AWS::Partition": "aws", "AWS::StackName": f"proactive-{STAGE}",
                          "AWS::URLSuffix": "amazonaws.com"})
        self.roles = roles

    def __missing__(self, name: str) -> Any:
        resource = self.roles.resources[name]
        props = resource.get("Properties", {})
        kind = resource["Type"]
        key = {"AWS::DynamoDB::Table": "TableName", "AWS::SQS::Queue": "QueueName",
               "AWS::S3::Bucket": "BucketName", "AWS::Events::EventBus": "Name",
               "AWS::Logs::LogGroup": "LogGroupName",
               "AWS::Serverless::Function": "FunctionName",
               "AWS::SecretsManager::Secret": "Name"}.get(kind)
        physical = self.roles.resolver.resolve(props[key]) if key and key in props else name
        if kind == "AWS::SecretsManager::Secret":
            # Ref is the secret's ARN, which ends in a random suffix Secrets Manager chose.
            return f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{physical}-??????"
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{physical}"
        return physical


class _LocalAttrs(dict[tuple[str, str], Any]):
    """`Fn::GetAtt` -> the local ARN (a stream's label is chosen by moto at each reset: the
    table's stream is `<table ARN>/stream/*`, there is one per table)."""

    def __init__(self, roles: Roles) -> None:
        super().__init__()
        self.roles = roles

    def __missing__(self, key: tuple[str, str]) -> Any:
        name, attr = key
        kind = self.roles.resources[name]["Type"]
        ref = self.roles.names[name]
        if kind == "AWS::SQS::Queue":
            queue = ref.rsplit("/", 1)[-1]
            return {"Arn": _arn("sqs", queue), "QueueName": queue, "QueueUrl": ref}[attr]
        arns = {"AWS::DynamoDB::Table": lambda: table_arn(ref),
                "AWS::S3::Bucket": lambda: f"arn:aws:s3:::{ref}",
                "AWS::Events::EventBus": lambda: _arn("events", f"event-bus/{ref}"),
                "AWS::Logs::LogGroup": lambda: _arn("logs", f"log-group:{ref}:*"),
                "AWS::Serverless::Function": lambda: _arn("lambda", f"function:{ref}")}
        if kind == "AWS::DynamoDB::Table" and attr == "StreamArn":
            return table_arn(ref) + "/stream/*"
        if attr == "Arn" and kind in arns:
            return arns[kind]()
        return _arn("local", f"{name}/{attr}")


@dataclass
class Statement:
    effect: str
    actions: list[str]
    resources: list[str]

    def matches(self, action: str, resource: str) -> bool:
        return (any(fnmatchcase(action.lower(), a.lower()) for a in self.actions)
                and any(fnmatchcase(resource, r) for r in self.resources))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


class Roles:
    """The packaged template's functions, their roles and what each role allows."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.resources: dict[str, dict[str, Any]] = template["Resources"]
        self.names = _LocalNames(self)
        self.resolver = Resolver(self.names, _LocalAttrs(self))
        self._statements: dict[str, list[Statement]] = {}

    def role_of(self, function: str) -> str:
        resource = self.resources.get(logical_id(function))
        if resource is None or resource["Type"] != "AWS::Serverless::Function":
            raise KeyError(f"no function {logical_id(function)} in the packaged template")
        role = resource["Properties"]["Role"]
        return str(role["Fn::GetAtt"][0])

    def statements(self, role: str) -> list[Statement]:
        if role not in self._statements:
            self._statements[role] = [self._statement(s) for s in self._documents(role)]
        return self._statements[role]

    def _documents(self, role: str) -> Iterator[dict[str, Any]]:
        for policy in self.resources[role]["Properties"].get("Policies", []):
            yield from _as_list(policy["PolicyDocument"]["Statement"])
        for resource in self.resources.values():
            if resource["Type"] in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy") and \
                    {"Ref": role} in resource["Properties"].get("Roles", []):
                yield from _as_list(resource["Properties"]["PolicyDocument"]["Statement"])

    def _statement(self, raw: dict[str, Any]) -> Statement:
        if "NotAction" in raw or "NotResource" in raw:
            raise NotImplementedError(f"NotAction/NotResource are not evaluated here: {raw}")
        return Statement(raw["Effect"], [str(a) for a in _as_list(raw["Action"])],
                         [str(self.resolver.resolve(r)) for r in _as_list(raw["Resource"])])

    def allows(self, role: str, action: str, resource: str) -> bool:
        statements = [s for s in self.statements(role) if s.matches(action, resource)]
        return (any(s.effect == "Allow" for s in statements)
                and not any(s.effect == "Deny" for s in statements))

    def denied(self, function: str, service: str, operation: str,
               params: dict[str, Any]) -> list[tuple[str, str]]:
        """The (action, resource) pairs of this call that `function`'s role does not allow."""
        role = self.role_of(function)
        return [(action, resource) for action, resource in required(service, operation, params)
                if not self.allows(role, action, resource)]


# --- recording ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Refusal:
    function: str
    role: str
    action: str
    resource: str

    def __str__(self) -> str:
        return (f"{logical_id(self.function)} (role {self.role}) may not {self.action} on "
                f"{self.resource}")


@dataclass
class Recorder:
    """An awscalls observer: checks each call made inside a function against its role and
    keeps what was refused. Calls made outside any function (fixtures, pumps) are not checked.

    With `enforce` a refused call also fails as AWS would fail it (AccessDeniedException), so a
    test sees what a user would: e.g. a message left in SENDING when its outcome is not stored.
    """

    roles: Roles
    enforce: bool = True
    refused: list[Refusal] = field(default_factory=list)
    calls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    # IAM_CHECK_LOG=<file>: append every checked (function, action, resource), e.g. to write a
    # new function's least-privilege policy from what its tests do.
    log_path: str | None = field(default_factory=lambda: os.environ.get("IAM_CHECK_LOG"))

    def __call__(self, service: str, operation: str, params: dict[str, Any],
                 function: str | None) -> None:
        if function is None:
            return
        try:
            role = self.roles.role_of(function)
            needed = required(service, operation, params)
            denied = [(a, r) for a, r in needed if not self.roles.allows(role, a, r)]
        except Exception as err:  # never break the call itself: report it as unchecked
            needed, role = [], "?"
            denied = [(f"{service}:{operation}", f"(not checkable: {err})")]
        with self.lock:
            self.calls += 1
            if self.log_path:
                with open(self.log_path, "a") as log:
                    log.writelines(f"{logical_id(function)} {a} {r}\n" for a, r in needed)
            for action, resource in denied:
                refusal = Refusal(function, role, action, resource)
                if refusal not in self.refused:
                    self.refused.append(refusal)
        if self.enforce and denied and needed:
            action, resource = denied[0]
            raise ClientError({"Error": {
                "Code": "AccessDeniedException",
                "Message": f"assumed-role/{role} is not authorized to perform: {action} on "
                           f"resource: {resource}"},
                "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)

    def take(self) -> list[Refusal]:
        with self.lock:
            refused, self.refused = self.refused, []
        return refused


def report(refused: Iterable[Refusal]) -> str:
    return "AWS calls the caller's role does not allow (infra/resources/iam.yaml):\n" + \
        "\n".join(f"  {r}" for r in refused)
