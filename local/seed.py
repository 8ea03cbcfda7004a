"""Demo data for the local stack: one brand with an SMS number, skills and API keys."""

from __future__ import annotations

import time
from typing import Any

from chalicelib.services import auth
from chalicelib.store.models import BrandModel, SenderNumberModel, SkillModel

DEMO_BRAND = "demo"
DEMO_SMS_NUMBER = "+12125550100"


def seed_demo(brand_id: str = DEMO_BRAND, name: str = "Demo Brand",
              sms_number: str = DEMO_SMS_NUMBER, sms_rate: float = 10.0) -> dict[str, Any]:
    now = time.time()
    BrandModel(brand_id, name=name, time_zone="America/New_York",
               opt_out_text="Reply STOP to opt out", default_skill="support",
               created_at=now).save()
    SenderNumberModel(sms_number, brand_id=brand_id, channel="sms", kind="long_code",
                      rate=sms_rate).save()
    for skill_id, skill_name in (("sales", "Sales"), ("support", "Support")):
        SkillModel(brand_id, skill_id, name=skill_name).save()
    keys = {}
    for role in ("admin", "campaign_manager", "agent"):
        _, secret = auth.create_key(brand_id, role, label=f"{brand_id} {role}")
        keys[role] = secret
    return {"brand_id": brand_id, "keys": keys,
            "numbers": {"sms": [sms_number]}, "skills": ["sales", "support"]}
