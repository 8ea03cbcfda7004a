"""Brand administration by the brand's admins: settings, sender numbers, skills.

Every change is written together with its audit entry (store/audit.commit)."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import unquote

from chalicelib.domain import brand_rules
from chalicelib.domain.admin_inputs import (
    BrandSettingsIn,
    NumberIn,
    NumberPatchIn,
    SkillIn,
    SkillPatchIn,
)
from chalicelib.domain.errors import Conflict, NotFound, field_error
from chalicelib.services import audit_log, ratelimit
from chalicelib.services.auth import Principal
from chalicelib.services.views import iso
from chalicelib.store import audit, brands, campaigns
from chalicelib.store.models import BrandModel, SenderNumberModel, SkillModel

# A campaign in these statuses will still send from its numbers (a DRAFT once launched).
USING_STATUSES = ("DRAFT", "SCHEDULED", "RUNNING")


# --- brand settings ---------------------------------------------------------------------------

def brand_view(brand: BrandModel) -> dict[str, Any]:
    return {
        "brand_id": brand.brand_id,
        "name": brand.name,
        "time_zone": brand.time_zone,
        "locale": brand.locale,
        "window": {"start": brand.window_start, "end": brand.window_end},
        "opt_out_text": brand.opt_out_text,
        "help_text": brand.help_text,
        "lookback_days": int(brand.lookback_days),
        "default_skill": brand.default_skill,
        "keyword_lifts_admin_optouts": bool(brand.keyword_lifts_admin_optouts),
        "api_limit": dict(zip(("rate", "burst"),
                              ratelimit.configured(brand.api_rate, brand.api_burst),
                              strict=True)),
        "created_at": iso(brand.created_at),
        "updated_at": iso(brand.updated_at),
    }


def _settings(brand: BrandModel) -> dict[str, Any]:
    return {"name": brand.name, "time_zone": brand.time_zone, "locale": brand.locale,
            "window": {"start": brand.window_start, "end": brand.window_end},
            "opt_out_text": brand.opt_out_text, "help_text": brand.help_text,
            "lookback_days": int(brand.lookback_days), "default_skill": brand.default_skill,
            "keyword_lifts_admin_optouts": bool(brand.keyword_lifts_admin_optouts)}


def get_brand(principal: Principal) -> dict[str, Any]:
    return brand_view(brands.get_brand(principal.brand_id))


def update_brand(principal: Principal, payload: BrandSettingsIn) -> dict[str, Any]:
    brand = brands.get_brand(principal.brand_id)
    given = payload.model_fields_set
    if "default_skill" in given and payload.default_skill is not None:
        skill = brands.get_skill(brand.brand_id, payload.default_skill)
        if skill is None or skill.retired:
            raise field_error("default_skill",
                              f"'{payload.default_skill}' is not an active skill of this brand")
    before = _settings(brand)
    wanted = {**before, **{k: getattr(payload, k) for k in given if k != "window"}}
    if "window" in given and payload.window is not None:
        wanted["window"] = {"start": payload.window.start, "end": payload.window.end}
    changed = {k for k in wanted if wanted[k] != before[k]}
    if not changed:
        return brand_view(brand)
    now = time.time()
    changes: dict[str, Any] = {}
    for name in changed:
        if name == "window":
            changes.update(window_start=wanted["window"]["start"],
                           window_end=wanted["window"]["end"])
        else:
            changes[name] = wanted[name]
    audit.commit(
        [brands.brand_settings_step(brand, changes, now)],
        audit_log.entry(principal, brand.brand_id, "brand.update", brand.brand_id,
                        {k: before[k] for k in sorted(changed)},
                        {k: wanted[k] for k in sorted(changed)}))
    brand.refresh(consistent_read=True)
    return brand_view(brand)


# --- sender numbers ---------------------------------------------------------------------------

def number_view(number: SenderNumberModel) -> dict[str, Any]:
    return {"number": number.number, "channel": number.channel, "kind": number.kind,
            "rate": float(number.rate),
            "gateway_answers_keywords": bool(number.gateway_answers_keywords)}


def list_numbers(principal: Principal) -> dict[str, Any]:
    return {"items": [number_view(n) for n in brands.brand_numbers(principal.brand_id)]}


def add_number(principal: Principal, payload: NumberIn) -> dict[str, Any]:
    checked = brand_rules.sender_number(payload.number, payload.channel, payload.kind,
                                        payload.rate)
    if isinstance(checked, tuple):
        raise field_error(*checked)
    number = SenderNumberModel(checked.number, brand_id=principal.brand_id,
                               channel=checked.channel, kind=checked.kind, rate=checked.rate,
                               gateway_answers_keywords=payload.gateway_answers_keywords)
    existing = brands.get_sender_number(checked.number)
    if existing is not None:
        raise _taken(checked.number, existing.brand_id == principal.brand_id)
    try:
        audit.commit(
            [brands.new_number_step(number, _taken(checked.number, False).message)],
            audit_log.entry(principal, principal.brand_id, "number.add", checked.number,
                            None, number_view(number)))
    except Conflict:
        raise _taken(checked.number, False) from None
    return number_view(number)


def _taken(number: str, ours: bool) -> Conflict:
    if ours:
        return Conflict(f"{number} is already a sender number of this brand",
                        code="NUMBER_TAKEN")
    return Conflict(f"{number} is already registered to another brand; a number can belong to "
                    "one brand only, since the number that receives a reply names the brand",
                    code="NUMBER_TAKEN")


def parse_number_path(raw: str) -> str:
    """The number as it arrives in the path: '+' may come encoded (%2B), decoded as a space, or
    left out."""
    text = unquote(raw).strip()
    if raw.startswith(" ") or raw.startswith("%20"):
        text = "+" + text
    if text.isdigit() and len(text) > 8:
        text = "+" + text
    return text


def _own_number(principal: Principal, raw_number: str) -> SenderNumberModel:
    number_text = parse_number_path(raw_number)
    number = brands.get_sender_number(number_text)
    if number is None or number.brand_id != principal.brand_id:
        raise NotFound(f"{number_text} is not a sender number of this brand")
    return number


def update_number(principal: Principal, raw_number: str,
                  payload: NumberPatchIn) -> dict[str, Any]:
    """Change a number's send rate (consumers pick it up within a minute) or who answers
    keywords on it; allowed while campaigns use the number."""
    number = _own_number(principal, raw_number)
    before = number_view(number)
    changes: dict[str, Any] = {}
    if payload.rate is not None:
        changes["rate"] = payload.rate
    if payload.gateway_answers_keywords is not None:
        if payload.gateway_answers_keywords and number.channel != "sms":
            raise field_error("gateway_answers_keywords",
                              "only an SMS number's gateway answers STOP/START/HELP itself")
        changes["gateway_answers_keywords"] = payload.gateway_answers_keywords
    step = brands.number_settings_step(number, changes, f"{number.number} changed meanwhile")
    for name, value in changes.items():
        setattr(number, name, value)
    audit.commit(
        [step],
        audit_log.entry(principal, principal.brand_id, "number.update", number.number,
                        before, number_view(number)))
    return number_view(number)


def remove_number(principal: Principal, raw_number: str) -> dict[str, Any]:
    """Refused while a campaign that may still send uses the number as its from-number or its
    SMS fallback: once removed, another brand may register it, and the campaign would send
    from that brand's number (and its consumers' replies and STOPs would reach that brand).
    Launch and the send consumer check the numbers again, for a removal that raced them."""
    number = _own_number(principal, raw_number)
    users = [c for c in campaigns.iter_brand(principal.brand_id)
             if c.status in USING_STATUSES
             and number.number in (c.from_number, c.fallback_from_number)]
    if users:
        named = ", ".join(f"'{c.name}' ({c.campaign_id}, {c.status})" for c in users[:10])
        more = f" and {len(users) - 10} more" if len(users) > 10 else ""
        raise Conflict(f"{number.number} is the from-number or SMS fallback of campaign"
                       f"{'s' if len(users) > 1 else ''} {named}{more}; give "
                       f"{'them' if len(users) > 1 else 'it'} another number or cancel "
                       f"{'them' if len(users) > 1 else 'it'} first", code="NUMBER_IN_USE")
    audit.commit(
        [brands.remove_number_step(number, f"{number.number} changed meanwhile")],
        audit_log.entry(principal, principal.brand_id, "number.remove", number.number,
                        number_view(number), None))
    return {"removed": number.number}


# --- skills -----------------------------------------------------------------------------------

def skill_view(skill: SkillModel) -> dict[str, Any]:
    return {"id": skill.skill_id, "name": skill.name, "retired": bool(skill.retired)}


def list_skills(principal: Principal) -> dict[str, Any]:
    return {"items": [skill_view(s) for s in brands.brand_skills(principal.brand_id)]}


def create_skill(principal: Principal, payload: SkillIn) -> dict[str, Any]:
    skill_id = payload.id or brand_rules.skill_id_from_name(payload.name)
    skill = SkillModel(principal.brand_id, skill_id, name=payload.name, retired=False)
    audit.commit(
        [brands.new_skill_step(
            skill, f"the skill '{skill_id}' already exists (retired skills keep their id)")],
        audit_log.entry(principal, principal.brand_id, "skill.create", skill_id, None,
                        skill_view(skill)))
    return skill_view(skill)


def update_skill(principal: Principal, skill_id: str, payload: SkillPatchIn) -> dict[str, Any]:
    skill = brands.get_skill(principal.brand_id, skill_id)
    if skill is None:
        raise NotFound(f"skill '{skill_id}' does not exist")
    before = skill_view(skill)
    if payload.retired:
        brand = brands.get_brand(principal.brand_id)
        if brand.default_skill == skill_id:
            raise Conflict(f"'{skill_id}' is the brand's default skill; choose another default "
                           "(PUT /brand) before retiring it", code="DEFAULT_SKILL")
    changes = {name: value for name, value in
               (("name", payload.name), ("retired", payload.retired)) if value is not None}
    after = {**before, **changes}
    if after == before:
        return before
    action = ("skill.retire" if payload.retired and not before["retired"] else
              "skill.restore" if payload.retired is False and before["retired"] else
              "skill.rename")
    audit.commit(
        [brands.skill_settings_step(skill, changes, f"skill '{skill_id}' was removed meanwhile")],
        audit_log.entry(principal, principal.brand_id, action, skill_id, before, after))
    return after
