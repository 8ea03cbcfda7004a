"""The gateway's webhooks: replies (inbound) and delivery status callbacks, answered with empty
TwiML once the signature is checked."""

from __future__ import annotations

from chalice import Response  # type: ignore[attr-defined]

from chalicelib import config
from chalicelib.api.routing import Routes
from chalicelib.messaging import webhooks
from chalicelib.services import delivery, inbound

routes = Routes(__name__)

FORM = ["application/x-www-form-urlencoded"]
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _twiml() -> Response:
    return Response(body=EMPTY_TWIML, status_code=200, headers={"Content-Type": "text/xml"})


def _webhook_base_url(route_path: str) -> str:
    """The public URL the gateway called, up to `route_path`: the configured override, else
    the request's own (Host header and stage, as API Gateway delivers it)."""
    request = routes.request()
    return (config.get_settings().webhook_base_url
            or webhooks.request_base_url(request.headers, request.context or {}, route_path))


@routes.route(webhooks.INBOUND_PATH, methods=["POST"], content_types=FORM)
def twilio_inbound() -> Response:
    request = routes.request()
    inbound.receive(request.raw_body, request.headers.get(webhooks.SIGNATURE_HEADER),
                    request.query_params, base_url=_webhook_base_url(webhooks.INBOUND_PATH))
    return _twiml()


@routes.route(webhooks.STATUS_PATH, methods=["POST"], content_types=FORM)
def twilio_status() -> Response:
    request = routes.request()
    delivery.receive(request.raw_body, request.headers.get(webhooks.SIGNATURE_HEADER),
                     request.query_params, base_url=_webhook_base_url(webhooks.STATUS_PATH))
    return _twiml()
