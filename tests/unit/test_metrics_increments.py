"""Stream record -> increments is a difference of contributions, so any path of transitions, in
any zone, leaves counters equal to a recount of the final messages (property-tested, no AWS)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain import analytics
from chalicelib.services.metrics import contribution, increments_for

STATUSES = ["PENDING", "SCHEDULED", "QUEUED", "SENDING", "SENT", "DELIVERED", "UNDELIVERED",
            "FAILED", "SKIPPED", "RESPONDED"]
DAY = 1_772_323_200.0  # 2026-03-01T00:00Z


def image(phone: str, skill: str, status: str, updated: float, sent: float | None
          ) -> dict[str, Any]:
    item: dict[str, Any] = {"campaign_id": {"S": "cmp_1"}, "phone": {"S": phone},
                            "brand_id": {"S": "acme"}, "skill": {"S": skill},
                            "status": {"S": status}, "updated_at": {"N": str(updated)},
                            "created_at": {"N": str(DAY)}}
    if sent is not None:
        item["sent_at"] = {"N": str(sent)}
    return item


steps = st.lists(st.tuples(st.sampled_from(STATUSES), st.floats(0, 3 * 86400)), min_size=1,
                 max_size=6)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["sales", "support"]), steps), min_size=1, max_size=6))
def test_any_transitions_leave_counters_equal_to_a_recount(
        messages: list[tuple[str, list[tuple[str, float]]]]) -> None:
    counters: dict[Any, Counter[str]] = {}
    finals = []
    for n, (skill, path) in enumerate(messages):
        phone = f"+1212555{n:04d}"
        old = None
        sent: float | None = None
        for status, offset in path:
            if status == "SENT" and sent is None:
                sent = DAY + offset
            new = image(phone, skill, status, DAY + offset, sent)
            for key, delta in increments_for({"dynamodb": {"OldImage": old,
                                                           "NewImage": new}}).items():
                counters.setdefault(key, Counter()).update(delta)
            old = new
        finals.append(old)
    recount: dict[Any, Counter[str]] = {}
    for final in finals:
        for key, value in contribution(final).items():
            recount.setdefault(key, Counter()).update(value)

    def clean(table: dict[Any, Counter[str]]) -> dict[Any, dict[str, int]]:
        return {k: {n: v for n, v in c.items() if v} for k, c in table.items()
                if any(c.values())}

    assert clean(counters) == clean(recount)
    for key, values in clean(counters).items():
        for name, value in values.items():
            if analytics.parse_counter_name(name) is not None:
                assert all(0 <= f < 10 ** analytics.FIELD_DIGITS
                           for f in analytics.unpack(value).values())
            else:
                assert value > 0, (key, name)


def test_removing_a_message_takes_back_everything_it_counted() -> None:
    sent = image("+12125550100", "sales", "RESPONDED", DAY + 60, DAY + 30)
    removed = increments_for({"dynamodb": {"OldImage": sent}})
    added = increments_for({"dynamodb": {"NewImage": sent}})
    assert removed == {key: Counter({name: -value for name, value in counters.items()})
                       for key, counters in added.items()}
