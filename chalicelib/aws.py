"""Lazily created boto3 clients, configured from the stage's settings (STYLE: one getter each)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

from chalicelib.config import get_settings, on_reset

_CLIENT_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5,
                        read_timeout=20, max_pool_connections=20)
# Pre-signed S3 URLs and forms are signed with Signature V4 (every region accepts it).
_SERVICE_CONFIG = {"s3": _CLIENT_CONFIG.merge(Config(signature_version="s3v4"))}


@cache
def client(service: str) -> Any:
    settings = get_settings()
    return boto3.session.Session().client(
        service,  # type: ignore[call-overload]
        region_name=settings.region,
        endpoint_url=settings.aws_endpoint_url,
        config=_SERVICE_CONFIG.get(service, _CLIENT_CONFIG),
    )


def reset_clients() -> None:
    client.cache_clear()


on_reset(reset_clients)
