"""Onboard a brand: `make onboard` / `python -m ops.onboard`.

Creates the brand (name, time zone, gateway credentials reference) and its first admin key,
whose secret is printed once. Against the running local stack by default (`make run` writes
.local/stack.json with moto's endpoint); with `--aws` against the stage's CloudFormation stack
(table names from the stack's resources, your AWS credentials).

    python -m ops.onboard --brand-id acme --name "Acme Inc." --time-zone America/New_York
    python -m ops.onboard --aws --stage prod --brand-id acme --name "Acme Inc." \\
        --time-zone America/New_York --gateway-secret-ref /proactive/prod/brands/acme/twilio
    python -m ops.onboard --brand-id acme --set-api-limit --api-rate 50 --api-burst 100
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent


def stage_parameter_prefix(stage: str) -> str:
    return f"/proactive/{stage}/"


def check_secret_ref(ref: str, stage: str) -> str | None:
    """What is wrong with a gateway credentials reference, or None: out of the functions' reach
    (services/onboarding.py), missing, not encrypted, or (a brand's own account) not the JSON
    {"account_sid", "auth_token"} the functions need to act as that account."""
    from chalicelib.services.onboarding import gateway_ref_problem

    problem = gateway_ref_problem(ref, stage)
    if problem:
        return problem
    if ref.startswith("arn:aws:secretsmanager:") or ref.startswith("secretsmanager:"):
        try:
            value = boto3.client("secretsmanager").get_secret_value(
                SecretId=ref.removeprefix("secretsmanager:"))["SecretString"]
        except ClientError as exc:
            return f"cannot find the secret: {exc.response['Error']['Message']}"
    else:
        try:
            parameter = boto3.client("ssm").get_parameter(Name=ref, WithDecryption=True)[
                "Parameter"]
        except ClientError as exc:
            return f"cannot find the SSM parameter {ref}: {exc.response['Error']['Code']}"
        if parameter.get("Type") != "SecureString":
            return f"{ref} must be a SecureString parameter"
        value = parameter["Value"]
    if ref == f"{stage_parameter_prefix(stage)}twilio/auth-token":
        return None  # the stage's own: the token alone is fine (TWILIO_ACCOUNT_SID names it)
    try:
        data = json.loads(value)
    except ValueError:
        data = None
    if not (isinstance(data, dict) and str(data.get("account_sid", "")).startswith("AC")
            and data.get("auth_token")):
        return ('a brand\'s own credentials must be JSON {"account_sid": "AC...", '
                '"auth_token": "..."}')
    return None


def use_local_stack(info_path: Path) -> None:
    if not info_path.exists():
        sys.exit("no local stack: start it with `make run` (or pass --aws --stage <stage>)")
    info = json.loads(info_path.read_text())
    os.environ.update({"AWS_ENDPOINT_URL": info["moto_url"], "AWS_ACCESS_KEY_ID": "testing",
                       "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
                       "AWS_REGION": "us-east-1"})


def use_aws_stack(stage: str, stack_name: str) -> None:
    from chalicelib.config import env_name

    cfn = boto3.client("cloudformation")
    paginator = cfn.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack_name):
        for resource in page["StackResourceSummaries"]:
            if resource["ResourceType"] == "AWS::DynamoDB::Table":
                os.environ[env_name(resource["LogicalResourceId"])] = \
                    resource["PhysicalResourceId"]
    os.environ["PROACTIVE_STAGE"] = stage


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--brand-id", required=True)
    parser.add_argument("--name")
    parser.add_argument("--time-zone", default="America/New_York")
    parser.add_argument("--gateway-secret-ref",
                        help="SSM SecureString parameter name or Secrets Manager ARN holding "
                             "the brand's gateway credentials (default: the stage's)")
    parser.add_argument("--admin-label", default="first admin")
    parser.add_argument("--api-rate", type=float, help="API requests/s (default: the stage's)")
    parser.add_argument("--api-burst", type=int, help="API burst (default: the stage's)")
    parser.add_argument("--set-api-limit", action="store_true",
                        help="only change the API limit of an existing brand")
    parser.add_argument("--aws", action="store_true", help="the stage's stack on AWS")
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--stack-name", help="default: proactive-<stage>")
    parser.add_argument("--skip-secret-check", action="store_true")
    parser.add_argument("--stack-info", type=Path, default=ROOT / ".local" / "stack.json",
                        help="the local stack's description (written by `make run`)")
    args = parser.parse_args(argv)

    if args.aws:
        use_aws_stack(args.stage, args.stack_name or f"proactive-{args.stage}")
    else:
        use_local_stack(args.stack_info)
    from chalicelib import config
    from chalicelib.domain.errors import DomainError
    from chalicelib.services import onboarding

    config.reset_settings()
    try:
        result: dict[str, Any]
        if args.set_api_limit:
            result = onboarding.set_api_limit(args.brand_id, args.api_rate, args.api_burst)
        else:
            if not args.name:
                parser.error("--name is required to onboard a brand")
            ref = (args.gateway_secret_ref
                   or f"{stage_parameter_prefix(args.stage)}twilio/auth-token")
            problem = None if args.skip_secret_check else check_secret_ref(ref, args.stage)
            if problem:
                print(f"error: --gateway-secret-ref: {problem}", file=sys.stderr)
                return 2
            result = onboarding.onboard(onboarding.NewBrand(
                brand_id=args.brand_id, name=args.name, time_zone=args.time_zone,
                gateway_secret_ref=ref, admin_label=args.admin_label, api_rate=args.api_rate,
                api_burst=args.api_burst))
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    if "admin_key" in result:
        print("The admin key's secret is shown only now: store it safely.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
