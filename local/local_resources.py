"""Create the resources of infra/resources/*.yaml on moto server, and the environment variables
the functions would get from the packaged template (Globals), resolved to the local values."""

from __future__ import annotations

import functools
import json
import secrets as secrets_module
from typing import Any

import boto3

from infra.template import Resolver, environment_variables, load_fragment

ACCOUNT = "123456789012"
REGION = "us-east-1"

_EMULATED = ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket",
             "AWS::Events::EventBus", "AWS::SecretsManager::Secret")
_TABLE_KEYS = ("AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes",
               "LocalSecondaryIndexes", "StreamSpecification", "BillingMode")


def create_resources(endpoint: str, stage: str = "dev",
                     parameters: dict[str, str] | None = None) -> dict[str, str]:
    """Creates every resource; returns the function environment (name -> value). `parameters`
    set the template's parameters (e.g. WebOrigin: the local web tool's origin)."""
    fragment = load_fragment(stage)
    ddb, sqs, s3, events = (_client(endpoint, service)
                            for service in ("dynamodb", "sqs", "s3", "events"))
    refs: dict[str, Any] = {name: spec.get("Default", "")
                            for name, spec in fragment.get("Parameters", {}).items()}
    refs.update({"Stage": stage, "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
                 "AWS::StackName": f"proactive-{stage}", "AWS::Partition": "aws",
                 "AWS::URLSuffix": "amazonaws.com", **(parameters or {})})
    # chalice's API, which exists on AWS only (its id names the API's origin)
    refs["RestAPI"] = "local"
    attrs: dict[tuple[str, str], Any] = {}
    resolver = Resolver(refs, attrs, fragment.get("Conditions", {}))
    resources: dict[str, Any] = fragment.get("Resources", {})
    # Entries without a Type patch chalice's generated functions; nothing to create here.
    pending = {name: res for name, res in resources.items() if "Type" in res}
    for name in [n for n, r in pending.items() if r["Type"] not in _EMULATED]:
        # Alarms, dashboards, roles, policies, topics: nothing to emulate locally (and they may
        # reference chalice's functions, which do not exist here).
        refs[name] = name
        attrs[(name, "Arn")] = f"arn:aws:local:{REGION}:{ACCOUNT}:{name}"
        del pending[name]
    refs["DefaultRole"] = "DefaultRole"
    # Functions chalice generates (e.g. ParseUpload in a bucket notification) are not in the
    # fragment; locally the pumps stand in for them, so their ARNs only need to resolve.
    patched = {name for name, res in resources.items() if "Type" not in res}
    for function in _external_names(resources) | patched:
        attrs[(function, "Arn")] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}"
    # Resources that reference others (a queue's DLQ) are created after them.
    while pending:
        progressed = False
        for name, resource in list(pending.items()):
            try:
                props = resolver.resolve(resource.get("Properties", {}))
            except KeyError:
                continue
            _create(name, resource["Type"], props, refs, attrs, ddb, sqs, s3, stage, events)
            del pending[name]
            progressed = True
        if not progressed:
            raise RuntimeError(f"cannot resolve references of {sorted(pending)}")
    env = {k: str(resolver.resolve(v)) for k, v in environment_variables(fragment).items()}
    return env


def _external_names(resources: dict[str, Any]) -> set[str]:
    """Names used in Fn::GetAtt that no resource of the fragment defines."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if set(value) == {"Fn::GetAtt"}:
                found.add(value["Fn::GetAtt"][0])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(resources)
    return found - set(resources)


def _create(name: str, cfn_type: str, props: dict[str, Any], refs: dict[str, Any],
            attrs: dict[tuple[str, str], Any], ddb: Any, sqs: Any, s3: Any, stage: str,
            events: Any = None) -> None:
    if cfn_type == "AWS::DynamoDB::Table":
        table = props.get("TableName", name)
        args = {k: v for k, v in props.items() if k in _TABLE_KEYS}
        if "StreamSpecification" in args:
            args["StreamSpecification"] = {"StreamEnabled": True, **args["StreamSpecification"]}
        description = ddb.create_table(TableName=table, **args)["TableDescription"]
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            ddb.update_time_to_live(TableName=table, TimeToLiveSpecification=ttl)
        refs[name] = table
        attrs[(name, "Arn")] = description["TableArn"]
        if description.get("LatestStreamArn"):
            attrs[(name, "StreamArn")] = description["LatestStreamArn"]
    elif cfn_type == "AWS::SQS::Queue":
        queue = props.get("QueueName", name)
        attributes: dict[str, str] = {}
        for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds",
                    "ReceiveMessageWaitTimeSeconds"):
            if key in props:
                attributes[key] = str(props[key])
        if "RedrivePolicy" in props:
            attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
        url = sqs.create_queue(QueueName=queue,
                               Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
        refs[name] = url
        attrs[(name, "Arn")] = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{queue}"
        attrs[(name, "QueueName")] = queue
    elif cfn_type == "AWS::S3::Bucket":
        bucket = props.get("BucketName", f"proactive-{stage}-{name.lower()}")
        s3.create_bucket(Bucket=bucket)
        if "CorsConfiguration" in props:
            s3.put_bucket_cors(Bucket=bucket,
                               CORSConfiguration=_s3_cors(props["CorsConfiguration"]))
        refs[name] = bucket
        attrs[(name, "Arn")] = f"arn:aws:s3:::{bucket}"
    elif cfn_type == "AWS::SecretsManager::Secret":
        # A generated secret (GenerateSecretString), as CloudFormation makes it: random.
        secrets = _client(sqs.meta.endpoint_url, "secretsmanager")
        arn = secrets.create_secret(Name=props.get("Name", name),
                                    SecretString=secrets_module.token_hex(32))["ARN"]
        refs[name] = arn
        attrs[(name, "Id")] = arn
    elif cfn_type == "AWS::Events::EventBus" and events is not None:
        bus = props.get("Name", name)
        arn = events.create_event_bus(Name=bus)["EventBusArn"]
        refs[name] = bus
        attrs[(name, "Arn")] = arn
        attrs[(name, "Name")] = bus
    else:
        # Alarms, dashboards, policies, rules: nothing to emulate locally; still resolvable.
        refs[name] = name
        attrs[(name, "Arn")] = f"arn:aws:local:{REGION}:{ACCOUNT}:{name}"


# CloudFormation's CorsRule property names -> the S3 API's (PutBucketCors).
_CORS_KEYS = {"AllowedHeaders": "AllowedHeaders", "AllowedMethods": "AllowedMethods",
              "AllowedOrigins": "AllowedOrigins", "ExposedHeaders": "ExposeHeaders",
              "Id": "ID", "MaxAge": "MaxAgeSeconds"}


def _s3_cors(cfn: dict[str, Any]) -> dict[str, Any]:
    """A bucket's CloudFormation CorsConfiguration as the S3 API takes it (the web tool's
    browser PUTs CSVs to pre-signed URLs from another origin)."""
    return {"CORSRules": [{_CORS_KEYS[k]: v for k, v in rule.items()}
                          for rule in cfn.get("CorsRules", [])]}


def put_local_secrets(endpoint: str, values: dict[str, str]) -> None:
    """Store secrets in moto's SSM the way ops store them on AWS: SecureString parameters named
    by the functions' *_PARAM variables ({parameter name: value})."""
    ssm = _client(endpoint, "ssm")
    for name, value in values.items():
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)


@functools.lru_cache(maxsize=32)
def _client(endpoint: str, service: str) -> Any:
    """One client per moto endpoint and service for the process (botocore clients are
    thread-safe; building one costs ~0.2 s, which every service test paid six times)."""
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                    region_name=REGION)
    return session.client(service, endpoint_url=endpoint)
