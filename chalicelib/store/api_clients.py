"""API client credentials of a brand for the LivePerson-compatible API (ApiClientsTable:
brand_id). One client per brand: its id, the SHA-256 of its secret (never the secret), and
whether it is revoked. Writes go with their audit entry (store/audit.py) as Steps built here."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist
from pynamodb.expressions.condition import Condition
from pynamodb.models import Model

from chalicelib.store.audit import Step
from chalicelib.store.models import register


class ApiClientModel(Model):
    class Meta:
        table_name = "ApiClientsTable"
        logical_id = "ApiClientsTable"

    brand_id = UnicodeAttribute(hash_key=True)
    client_id = UnicodeAttribute()
    secret_hash = UnicodeAttribute()
    created_at = NumberAttribute()
    created_by = UnicodeAttribute(default="")
    rotated_at = NumberAttribute(null=True)
    revoked_at = NumberAttribute(null=True)


register(ApiClientModel)


def find(brand_id: str) -> ApiClientModel | None:
    try:
        return ApiClientModel.get(brand_id, consistent_read=True)
    except DoesNotExist:
        return None


def enable_step(client: ApiClientModel, previous: ApiClientModel | None) -> Step:
    """Save a new client (first one, or replacing a revoked one): no active client meanwhile."""
    condition: Condition
    if previous is None:
        condition = ApiClientModel.brand_id.does_not_exist()
    else:
        condition = ApiClientModel.client_id == previous.client_id
    return Step("save", client, condition,
                conflict="the API was enabled or changed meanwhile; look at it again")


def rotate_step(client: ApiClientModel, client_id: str, secret_hash: str, now: float) -> Step:
    """A new id and secret for the active client read as `client`."""
    return Step("update", client,
                (ApiClientModel.client_id == client.client_id)
                & ApiClientModel.revoked_at.does_not_exist(),
                [ApiClientModel.client_id.set(client_id),
                 ApiClientModel.secret_hash.set(secret_hash),
                 ApiClientModel.rotated_at.set(now)],
                conflict="the API client was rotated or revoked meanwhile; look at it again")


def revoke_step(client: ApiClientModel, now: float) -> Step:
    return Step("update", client,
                (ApiClientModel.client_id == client.client_id)
                & ApiClientModel.revoked_at.does_not_exist(),
                [ApiClientModel.revoked_at.set(now)],
                conflict="the API client was rotated or revoked meanwhile; look at it again")
