"""Brand-wide opt-outs: (brand, phone) present means no message may go to that phone."""

from __future__ import annotations

from collections.abc import Iterable

from pynamodb.exceptions import DeleteError, PutError

from chalicelib.store.models import OptOutModel
from chalicelib.store.paging import decode_cursor, encode_cursor


def opted_out(brand_id: str, phones: Iterable[str]) -> set[str]:
    keys = [(brand_id, phone) for phone in set(phones)]
    if not keys:
        return set()
    return {item.phone for item in OptOutModel.batch_get(keys, consistent_read=True)}


def add(brand_id: str, phone: str, source: str, keyword: str | None, now: float) -> None:
    OptOutModel(brand_id, phone, source=source, keyword=keyword, created_at=now).save()


def remove(brand_id: str, phone: str) -> None:
    OptOutModel(brand_id, phone).delete()


# --- admin API and keywords --------------------------------------------------------

def _conditional_failed(exc: Exception) -> bool:
    return getattr(exc, "cause_response_code", None) == "ConditionalCheckFailedException"


def record(brand_id: str, phone: str, *, source: str, now: float, keyword: str | None = None,
           by: str | None = None, number: str | None = None,
           campaign_id: str | None = None) -> tuple[OptOutModel, bool]:
    """Store an opt-out with where it came from and when; (item, True) if new. An opt-out that
    exists already is kept as it was (its first source and time)."""
    item = OptOutModel(brand_id, phone, source=source, keyword=keyword, by=by, number=number,
                       campaign_id=campaign_id, created_at=now)
    try:
        item.save(condition=OptOutModel.phone.does_not_exist())
    except PutError as exc:
        if not _conditional_failed(exc):
            raise
        existing = get(brand_id, phone)
        return (existing or item), False
    return item, True


def get(brand_id: str, phone: str) -> OptOutModel | None:
    try:
        return OptOutModel.get(brand_id, phone, consistent_read=True)
    except OptOutModel.DoesNotExist:
        return None


def delete(brand_id: str, phone: str, keep_admin: bool = False) -> bool:
    """Opt back in; False if the phone was not opted out (or, with `keep_admin`, was opted out
    by an admin: checked in the same write, so an admin's opt-out made meanwhile stays)."""
    condition = OptOutModel.phone.exists()
    if keep_admin:
        condition &= (OptOutModel.source != "admin") | OptOutModel.source.does_not_exist()
    try:
        OptOutModel(brand_id, phone).delete(condition=condition)
    except DeleteError as exc:
        if _conditional_failed(exc):
            return False
        raise
    return True


def page(brand_id: str, limit: int, cursor: str | None) -> tuple[list[OptOutModel], str | None]:
    scope = f"optouts#{brand_id}"
    result = OptOutModel.query(brand_id, limit=limit,
                               last_evaluated_key=decode_cursor(cursor, scope))
    items = list(result)
    return items, encode_cursor(result.last_evaluated_key, scope)
