"""The table of contents of the application: the API's routes (one chalice Blueprint per
feature, in chalicelib/api/routes/) and the event handlers, each a Lambda function of its own.
Routes and handlers parse their input, call one chalicelib function and shape the result;
business rules live in chalicelib/services and chalicelib/domain.

A new route goes in its feature's module in chalicelib/api/routes/ (a new feature: a new module
there, registered below), with its schemas in chalicelib/api/openapi.py and responses.py."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from chalice import Chalice  # type: ignore[attr-defined]

from chalicelib import config
from chalicelib.api import errors
from chalicelib.api.routes import (
    admin,
    analytics,
    campaigns,
    conversations,
    events,
    recipients,
    service,
    templates,
    webhooks,
)
from chalicelib.logs import correlated, logger
from chalicelib.lp import routes as liveperson
from chalicelib.services import (
    delivery,
    dispatch,
    inbound,
    jobs,
    metrics,
    minutely,
    recount,
    webhooks_out,
)
from chalicelib.services import recipients as recipient_lists

app = Chalice(app_name="proactive")
app.register_middleware(correlated, "all")  # request/correlation ids, EMF flush


@app.middleware("http")
def chalice_errors_as_json(event: Any, get_response: Any) -> Any:
    # Chalice answers 405 and 415 itself, before any view: the same Error body as ours.
    return errors.reshape_chalice_error(get_response(event))


# --- the API: routes by feature -----------------------------------------------------------------

for feature in (service, campaigns, recipients, templates, conversations, analytics, admin,
                webhooks, events):
    app.register_blueprint(feature.routes)
# LivePerson Proactive 2.0 compatible paths (their own token and error shapes), the API client
# credentials and SMS templates: docs/lp-compatible.md
app.register_blueprint(liveperson.bp)


# --- event handlers -------------------------------------------------------------------------------

def _stream_records(event: Any) -> Iterator[dict[str, Any]]:
    """The DynamoDB stream records of an event, as plain dicts."""
    return (r.to_dict() if hasattr(r, "to_dict") else r for r in event)


@app.on_sqs_message(queue=config.send_queue_name(), batch_size=10, maximum_concurrency=5)
def send_messages(event: Any) -> dict[str, Any]:
    records = [(r.to_dict()["messageId"], r.body) for r in event]
    # One deadline for the whole batch, from what the invocation has left.
    remaining = event.context.get_remaining_time_in_millis() / 1000.0
    failures = dispatch.handle_batch(records, remaining_seconds=remaining)
    return {"batchItemFailures": [{"itemIdentifier": f} for f in failures]}


@app.on_sqs_message(queue=config.control_queue_name(), batch_size=1, maximum_concurrency=2)
def run_jobs(event: Any) -> None:
    for record in event:
        jobs.run(json.loads(record.body))


@app.schedule("rate(1 minute)")
def every_minute(event: Any) -> dict[str, int]:
    return minutely.tick()


# What the webhook could not apply at once: applied here, once per MessageSid; a
# message that fails is reported alone and retried, then kept in the inbound DLQ (alarmed).
@app.on_sqs_message(queue=config.inbound_queue_name(), batch_size=10, maximum_concurrency=2)
def apply_inbound(event: Any) -> dict[str, Any]:
    retry = inbound.apply_queued([(r.to_dict()["messageId"], r.body) for r in event])
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in retry]}


@app.on_dynamodb_record(stream_arn=config.messages_stream_arn(), batch_size=100,
                        starting_position="TRIM_HORIZON")
def match_status_callbacks(event: Any) -> dict[str, int]:
    return {"applied": delivery.apply_sent_records(_stream_records(event))}


@app.on_dynamodb_record(stream_arn=config.messages_stream_arn(), batch_size=100,
                        starting_position="TRIM_HORIZON")
def aggregate_metrics(event: Any) -> dict[str, int]:
    records = list(_stream_records(event))
    applied = metrics.apply_records(records)
    logger.debug("metrics applied", extra={"records": applied})
    # campaign.completed once the counters say so (services/webhooks_out.py)
    return {"applied": applied, "completed": webhooks_out.publish_completions(records)}


# message.* events to the brand's endpoints and bus, from the messages table's stream (the send
# path does not know about them), and their signed deliveries, retried for 24 h.
@app.on_dynamodb_record(stream_arn=config.messages_stream_arn(), batch_size=100,
                        starting_position="TRIM_HORIZON")
def publish_message_events(event: Any) -> dict[str, int]:
    return {"published": webhooks_out.publish_message_events(_stream_records(event))}


@app.on_sqs_message(queue=config.webhook_queue_name(), batch_size=10, maximum_concurrency=5)
def deliver_events(event: Any) -> dict[str, Any]:
    failures = []
    for record in event:
        message_id = record.to_dict()["messageId"]
        try:
            webhooks_out.deliver(record.body)
        except Exception:  # noqa: BLE001 - retried by SQS; the others are done
            logger.exception("webhook delivery crashed", extra={"message_id": message_id})
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}


# The uploads bucket invokes this for every new object under uploads/ (the notification is in
# infra/resources/storage.yaml: chalice package cannot write @app.on_s3_event). Locally the S3
# pump (local/pumps.py) delivers the same event.
@app.lambda_function(name="parse_upload")
def parse_upload(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return recipient_lists.handle_s3_event(event)


@app.schedule("cron(30 3 * * ? *)")
def recount_counters(event: Any) -> dict[str, Any]:
    return recount.scheduled_check()
