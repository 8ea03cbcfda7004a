"""Brand-wide opt-outs: (brand, phone) present means no message may go to that phone."""

from __future__ import annotations

from collections.abc import Iterable

from chalicelib.store.models import OptOutModel


def opted_out(brand_id: str, phones: Iterable[str]) -> set[str]:
    keys = [(brand_id, phone) for phone in set(phones)]
    if not keys:
        return set()
    return {item.phone for item in OptOutModel.batch_get(keys, consistent_read=True)}


def add(brand_id: str, phone: str, source: str, keyword: str | None, now: float) -> None:
    OptOutModel(brand_id, phone, source=source, keyword=keyword, created_at=now).save()


def remove(brand_id: str, phone: str) -> None:
    OptOutModel(brand_id, phone).delete()
