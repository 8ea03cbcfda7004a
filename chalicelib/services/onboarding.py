"""Onboarding a brand (ops, with `python -m ops.onboard`): the brand, its settings and its
first admin key, whose secret is returned once. Also the per-brand API limit, which ops set
(brand admins cannot raise their own limit)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from chalicelib.config import get_settings
from chalicelib.domain import brand_rules
from chalicelib.domain.errors import field_error
from chalicelib.services import audit_log, auth, ratelimit
from chalicelib.store import audit, brands
from chalicelib.store.models import BrandModel

BRAND_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")
MAX_API_RATE = 1000.0


@dataclass(frozen=True)
class NewBrand:
    brand_id: str
    name: str
    time_zone: str
    gateway_secret_ref: str | None = None
    admin_label: str = "first admin"
    api_rate: float | None = None
    api_burst: int | None = None


def gateway_ref_problem(ref: str, stage: str) -> str | None:
    """What keeps the functions from reading a gateway credentials reference, or None. They may
    read SSM parameters under /proactive/<stage>/ and Secrets Manager secrets named
    proactive/<stage>/... (infra/resources/iam.yaml), nothing else."""
    parameters, secrets_prefix = f"/proactive/{stage}/", f"proactive/{stage}/"
    if ref.startswith("arn:"):
        parts = ref.split(":", 6)
        if len(parts) >= 6 and parts[2] == "secretsmanager" and parts[5] == "secret":
            name = parts[6] if len(parts) > 6 else ""
            return None if name.startswith(secrets_prefix) else (
                f"a Secrets Manager secret must be named {secrets_prefix}... (the functions may "
                "read no other secret)")
        if len(parts) >= 6 and parts[2] == "ssm" and ":".join(parts[5:]).startswith(
                "parameter" + parameters):
            return None
        return (f"an ARN must name an SSM parameter under {parameters} or a Secrets Manager "
                f"secret named {secrets_prefix}... (the functions may read nothing else)")
    if ref.startswith("secretsmanager:"):
        return None if ref.removeprefix("secretsmanager:").startswith(secrets_prefix) else (
            f"a Secrets Manager secret must be named {secrets_prefix}... (the functions may "
            "read no other secret)")
    if not ref.startswith(parameters):
        return (f"an SSM parameter must be under {parameters} (the functions may read nothing "
                "else)")
    return None


def check_api_limit(rate: float | None, burst: int | None) -> None:
    if rate is not None and not 0 < rate <= MAX_API_RATE:
        raise field_error("api_rate", f"must be above 0 and at most {MAX_API_RATE:g} requests/s")
    if burst is not None and not 1 <= burst <= 10 * MAX_API_RATE:
        raise field_error("api_burst", "must be a whole number from 1 to 10000")


def onboard(new: NewBrand) -> dict[str, Any]:
    if not BRAND_ID.match(new.brand_id):
        raise field_error("brand_id", "2 to 40 characters: lower case letters, digits and -, "
                          "starting with a letter or digit")
    if not new.name.strip() or len(new.name) > 100:
        raise field_error("name", "must be 1 to 100 characters")
    if not brand_rules.is_time_zone(new.time_zone):
        raise field_error("time_zone", f"'{new.time_zone}' is not an IANA time zone "
                          "(e.g. America/New_York)")
    check_api_limit(new.api_rate, new.api_burst)
    if new.gateway_secret_ref:
        problem = gateway_ref_problem(new.gateway_secret_ref, get_settings().stage)
        if problem:
            raise field_error("gateway_secret_ref", problem)
    now = time.time()
    brand = BrandModel(new.brand_id, name=new.name.strip(), time_zone=new.time_zone,
                       created_at=now, updated_at=now, gateway_secret_ref=new.gateway_secret_ref,
                       api_rate=new.api_rate, api_burst=new.api_burst)
    key, secret = auth.new_key(new.brand_id, "admin", new.admin_label)
    after = {"name": brand.name, "time_zone": brand.time_zone,
             "gateway_secret_ref": new.gateway_secret_ref, "admin_key": key.key_id,
             "api_limit": {"rate": new.api_rate, "burst": new.api_burst}}
    audit.commit(
        [brands.new_brand_step(brand, f"brand '{new.brand_id}' already exists"),
         brands.new_key_step(key)],
        audit_log.entry(audit_log.OPS, new.brand_id, "brand.onboard", new.brand_id, None,
                        after))
    return {"brand_id": new.brand_id, "name": brand.name, "time_zone": brand.time_zone,
            "admin_key": {"id": key.key_id, "secret": secret, "label": key.label}}


def set_api_limit(brand_id: str, rate: float | None, burst: int | None) -> dict[str, Any]:
    """Give a brand its own API limit (None: back to the stage's default)."""
    check_api_limit(rate, burst)
    brand = brands.get_brand(brand_id)
    before = {"rate": brand.api_rate, "burst": brand.api_burst}
    audit.commit([brands.brand_settings_step(brand, {"api_rate": rate, "api_burst": burst},
                                             time.time())],
                 audit_log.entry(audit_log.OPS, brand_id, "brand.api_limit", brand_id, before,
                                 {"rate": rate, "burst": burst}))
    ratelimit.forget(brand_id)
    effective = ratelimit.configured(rate, burst)
    return {"brand_id": brand_id, "api_limit": {"rate": effective[0], "burst": effective[1]}}
