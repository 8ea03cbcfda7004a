"""Lazily created boto3 clients, configured from the stage's settings (STYLE: one getter each)."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config

from chalicelib.config import get_settings, on_reset

_CLIENT_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, connect_timeout=5,
                        read_timeout=20, max_pool_connections=20)
# Pre-signed S3 URLs and forms are signed with Signature V4 (every region accepts it).
_SERVICE_CONFIG = {"s3": _CLIENT_CONFIG.merge(Config(signature_version="s3v4"))}


_LOADER = botocore.loaders.create_loader()


def botocore_session() -> botocore.session.Session:
    """A new botocore session reading the service descriptions through one shared loader: each
    session on its own parses them again (about 10 ms per JSON file, a dozen files per client),
    and pynamodb makes one session per model and thread (chalicelib/store/models.py)."""
    session = botocore.session.get_session()
    session.register_component("data_loader", _LOADER)
    return session


@cache
def client(service: str) -> Any:
    settings = get_settings()
    return boto3.session.Session(botocore_session=botocore_session()).client(
        service,  # type: ignore[call-overload]
        region_name=settings.region,
        endpoint_url=settings.aws_endpoint_url,
        config=_SERVICE_CONFIG.get(service, _CLIENT_CONFIG),
    )


def reset_clients() -> None:
    client.cache_clear()


on_reset(reset_clients)
