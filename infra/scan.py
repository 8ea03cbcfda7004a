"""checkov's checks that do not apply to a kind of resource here, and why.

`make test` runs checkov over the packaged template (tests/service/test_template.py); every
failed check is fixed or skipped with a reason in the resource's `Metadata: checkov: skip`.
Skips that hold for every resource of a type are listed here and written into the merge
template by `infra.build` (chalice's functions and API included, which the fragments only
patch); a skip for one resource is written next to it in infra/resources/*.yaml. Encryption,
point-in-time recovery, access logs and tracing are never skipped.
"""

from __future__ import annotations

import copy
import importlib
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTION = "AWS::Serverless::Function"

SKIPS_BY_TYPE: dict[str, list[tuple[str, str]]] = {
    FUNCTION: [
        ("CKV_AWS_115", "No reserved concurrency: event sources bound it (SQS MaximumConcurrency,"
                        " one stream shard, schedules); reserving would fail on accounts with"
                        " the default quota and take capacity from the other functions."),
        ("CKV_AWS_116", "No async invocation goes unanswered: SQS consumers fail to their"
                        " queue's redrive DLQ, stream readers and ParseUpload to"
                        " FailedInvocationsQueue (OnFailure), the API is synchronous and a"
                        " scheduled run is redone by the next tick."),
        ("CKV_AWS_117", "Not in a VPC: the functions reach only AWS APIs and the SMS gateway"
                        " over TLS; a VPC would add NAT gateways and endpoints, not protection."),
        ("CKV_AWS_173", "The environment holds no secret (table and queue names, SSM parameter"
                        " names); Lambda encrypts it at rest with its own key, a"
                        " customer-managed key is not needed."),
    ],
    "AWS::DynamoDB::Table": [
        ("CKV_AWS_119", "Encrypted at rest with DynamoDB's own key; a customer-managed KMS key"
                        " would add cost and key administration without a reader to exclude."),
    ],
    "AWS::Logs::LogGroup": [
        ("CKV_AWS_158", "Encrypted at rest by CloudWatch Logs; a customer-managed KMS key is not"
                        " needed (logs carry no secrets, phone numbers are not logged)."),
    ],
    "AWS::SQS::Queue": [
        ("CKV_AWS_27", "Encrypted with SQS-managed keys (SqsManagedSseEnabled), which this check"
                       " does not read; KMS keys would need grants for every producer."),
    ],
    "AWS::Serverless::Api": [
        ("CKV_AWS_120", "No API cache: answers are per brand and key and change with every"
                        " send; caching them would serve stale or another caller's data."),
    ],
}


def chalice_resources() -> dict[str, str]:
    """The logical ids and types of what `chalice package` writes for app.py that the skips
    concern: its functions and its API."""
    from chalice.utils import to_cfn_resource_name

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    app = importlib.import_module("app").app
    names = {source.name for source in app.event_sources}
    names |= {function.name for function in app.pure_lambda_functions}
    found = {to_cfn_resource_name(name): FUNCTION for name in names}
    if app.routes:
        found.update({"APIHandler": FUNCTION, "RestAPI": "AWS::Serverless::Api"})
    return found


def with_skips(fragment: dict[str, Any], generated: dict[str, str]) -> dict[str, Any]:
    """`fragment` with the skips of SKIPS_BY_TYPE in the Metadata of each resource of the type,
    those chalice generates (`generated`: name -> type) included."""
    out = copy.deepcopy(fragment)
    resources = out.setdefault("Resources", {})
    for name in generated:
        resources.setdefault(name, {})
    for name, resource in resources.items():
        skips = SKIPS_BY_TYPE.get(str(generated.get(name) or resource.get("Type")), [])
        if not skips:
            continue
        listed = resource.setdefault("Metadata", {}).setdefault("checkov", {}).setdefault(
            "skip", [])
        present = {entry["id"] for entry in listed}
        listed.extend({"id": check, "comment": comment} for check, comment in skips
                      if check not in present)
    return out
