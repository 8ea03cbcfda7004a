"""Conversations: agents read the replies of consumers and answer them."""

from __future__ import annotations

from typing import Any

from chalicelib.api import params
from chalicelib.api.inbound_schemas import AgentMessageIn
from chalicelib.api.routing import Routes
from chalicelib.domain.inputs import parse_body
from chalicelib.services import auth, conversations

routes = Routes(__name__)


@routes.route("/conversations", methods=["GET"])
def list_conversations() -> dict[str, Any]:
    principal = routes.principal(auth.AGENT_ROLES)
    query = routes.request().query_params
    return conversations.list_page(
        principal, params.optional(query, "skill"),
        params.one_of(query, "status", ("open", "closed")), params.limit(query),
        params.optional(query, "cursor"))


@routes.route("/conversations/{conversation_id}", methods=["GET"])
def get_conversation(conversation_id: str) -> dict[str, Any]:
    return conversations.get(routes.principal(auth.AGENT_ROLES), conversation_id)


@routes.route("/conversations/{conversation_id}/messages", methods=["POST"])
def answer_conversation(conversation_id: str) -> dict[str, Any]:
    principal = routes.principal(auth.AGENT_ROLES)
    payload = parse_body(AgentMessageIn, routes.request().raw_body)
    return conversations.answer(principal, conversation_id, payload.text)


@routes.route("/conversations/{conversation_id}/close", methods=["POST"])
def close_conversation(conversation_id: str) -> dict[str, Any]:
    return conversations.close(routes.principal(auth.AGENT_ROLES), conversation_id)
