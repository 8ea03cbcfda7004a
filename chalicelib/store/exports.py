"""Report files too large for an API answer: written to the uploads bucket under exports/ and
handed out through a pre-signed GET link. Also the opt-out instants a report shows."""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib import aws
from chalicelib.config import get_settings
from chalicelib.store.models import OptOutModel

EXPORTS_PREFIX = "exports/"


def put_export(key: str, body: bytes, filename: str) -> None:
    aws.client("s3").put_object(
        Bucket=get_settings().uploads_bucket, Key=EXPORTS_PREFIX + key, Body=body,
        ContentType="text/csv; charset=utf-8",
        ContentDisposition=f'attachment; filename="{filename}"')


def download_url(key: str, expires_in: int) -> str:
    return str(aws.client("s3").generate_presigned_url(
        "get_object", Params={"Bucket": get_settings().uploads_bucket,
                              "Key": EXPORTS_PREFIX + key},
        ExpiresIn=expires_in))


def opt_out_times(brand_id: str, phones: Iterable[str]) -> dict[str, float]:
    """phone -> when it opted out, for those of `phones` opted out of the brand now."""
    keys = [(brand_id, phone) for phone in set(phones)]
    found: dict[str, float] = {}
    for start in range(0, len(keys), 100):
        for item in OptOutModel.batch_get(keys[start:start + 100]):
            found[item.phone] = float(item.created_at)
    return found
