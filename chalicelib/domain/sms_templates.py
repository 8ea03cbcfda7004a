"""SMS templates: a text with variables {{1}}, {{2}}, ... numbered from 1 without gaps (the same
placeholders as WhatsApp templates, domain/templates.py), no approval step. The fixed id
DEFAULT_ID names the brand's default SMS template (the LivePerson-compatible API's SMS id)."""

from __future__ import annotations

from chalicelib.domain import templates

TEXT_MAX = 1600  # as an SMS campaign's text (api/schemas.py CampaignIn.text)
DEFAULT_ID = "1234567890"


def text_errors(text: str) -> list[str]:
    """Why `text` cannot be an SMS template (empty list: it can)."""
    if not text.strip():
        return ["the text is empty"]
    problems = [p for p in templates.body_errors(text) if "WhatsApp allows" not in p]
    if len(text) > TEXT_MAX:
        problems.append(f"the text is {len(text)} characters; an SMS template holds at most "
                        f"{TEXT_MAX}")
    return problems


def variable_count(text: str) -> int:
    return templates.parse_body(text).variable_count


def render(text: str, values: list[str]) -> str:
    return templates.parse_body(text).render(values)
