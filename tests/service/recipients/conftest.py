"""Fixtures of the recipients and templates tests: a WhatsApp number and an approved template."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.store.models import SenderNumberModel
from tests.conftest import Api, Brand

WHATSAPP_NUMBER = "+12125550190"
BODY = "Hi {{1}}, your order {{2}} is ready"


def create_template(api: Api, brand: Brand, name: str = "order_ready", body: str = BODY,
                    submit: bool = True) -> dict[str, Any]:
    status, template = api.call("POST", "/templates", brand, role="admin", json_body={
        "name": name, "language": "en_US", "category": "UTILITY", "body": body})
    assert status == 201, template
    if submit:
        status, template = api.call("POST", f"/templates/{template['id']}/submit", brand,
                                    role="admin")
        assert status == 200, template
    return dict(template)


@pytest.fixture
def whatsapp_number(brand: Brand) -> str:
    SenderNumberModel(WHATSAPP_NUMBER, brand_id=brand.brand_id, channel="whatsapp",
                      kind="whatsapp", rate=20).save()
    return WHATSAPP_NUMBER


@pytest.fixture
def approved(api: Api, brand: Brand, sandbox: Any) -> dict[str, Any]:
    template = create_template(api, brand)
    status, template = api.call("GET", f"/templates/{template['id']}", brand)
    assert status == 200 and template["status"] == "APPROVED", template
    return dict(template)
