"""Appending to a campaign's recipient list (JSON recipients, issue 16.4): the campaign's side of
an append, under the list replacement rules of services/recipients.py (the writer slot)."""

from __future__ import annotations

from typing import Any

from chalicelib.store import campaigns
from chalicelib.store.models import CampaignModel


def finish(campaign: CampaignModel, list_id: int, accepted: int, now: float,
           conflict_message: str) -> None:
    """Count the appended lines and give the writer slot up, if the campaign is still a DRAFT
    whose list is `list_id`, written by this append (Conflict otherwise)."""
    current = (CampaignModel.list_id == list_id if list_id else
               CampaignModel.list_id.does_not_exist() | (CampaignModel.list_id == 0))
    writer: Any = CampaignModel.list_writer.list_id  # type: ignore[attr-defined]
    campaigns.update(
        campaign,
        [CampaignModel.recipients_total.add(accepted), CampaignModel.list_writer.remove(),
         CampaignModel.updated_at.set(now)],
        (CampaignModel.status == "DRAFT") & current & (writer == list_id),
        conflict_message)
