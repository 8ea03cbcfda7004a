"""pynamodb models and repositories. Modules defining models of their own are imported here so
that every registered model is known (tests/service/test_infra_contract.py checks them all)."""

from chalicelib.store import (
    api_clients,  # noqa: F401  (ApiClientModel)
    audit,  # noqa: F401  (AuditModel)
    endpoints,  # noqa: F401  (webhook endpoints, dead letters)
    idempotency,  # noqa: F401  (IdempotencyKeyModel)
    inbound_models,  # noqa: F401  (registers its models)
    recipient_lines,  # noqa: F401
    sms_templates,  # noqa: F401  (SmsTemplateModel)
    templates,  # noqa: F401
)
