"""Request bodies of the agent API."""

from __future__ import annotations

from pydantic import Field

from chalicelib.domain.inputs import Strict


class AgentMessageIn(Strict):
    text: str = Field(min_length=1, max_length=1600, description="the agent's answer")
