"""Audit entries for admin changes, and the audit log as admins read it."""

from __future__ import annotations

import json
import time
from typing import Any

from chalicelib.domain.ids import new_id
from chalicelib.services.auth import Principal
from chalicelib.services.views import iso
from chalicelib.store import audit
from chalicelib.store.audit import AuditModel

# Onboarding and other changes made by ops with ops.onboard, not through an API key.
OPS = Principal(brand_id="", role="ops", key_id="ops", label="ops (ops.onboard)")


def entry(principal: Principal, brand_id: str, action: str, target: str,
          before: Any = None, after: Any = None) -> AuditModel:
    now = time.time()
    return AuditModel(brand_id, new_id("aud", now), at=now, action=action, target=target,
                      actor_key_id=principal.key_id, actor_label=principal.label,
                      actor_role=principal.role, before=audit.to_json(before),
                      after=audit.to_json(after))


def page(principal: Principal, limit: int, cursor: str | None) -> dict[str, Any]:
    items, next_cursor = audit.page(principal.brand_id, limit, cursor)
    return {"items": [view(e) for e in items], "next_cursor": next_cursor}


def view(item: AuditModel) -> dict[str, Any]:
    return {
        "id": item.entry_id,
        "at": iso(item.at),
        "actor": {"key_id": item.actor_key_id, "label": item.actor_label,
                  "role": item.actor_role},
        "action": item.action,
        "target": item.target,
        "before": json.loads(item.before) if item.before else None,
        "after": json.loads(item.after) if item.after else None,
    }
