"""The AWS simulation's models (bench/simulate.py), so that it cannot silently rot: the real slot
reservation against the DynamoDB model, the gateway's latency and 429s, the fair queue, and a
tiny run of each design."""

from __future__ import annotations

import dataclasses
import random
from typing import Any

import pytest

from bench import simulate as sim
from chalicelib.services import dispatch
from chalicelib.store import limits


def _dynamo() -> tuple[sim.Clock, sim.SimDynamo]:
    clock = sim.Clock(sim.START)
    return clock, sim.SimDynamo(clock, random.Random(1), sim.Requests())


def test_real_reservations_on_the_model_never_share_a_slot() -> None:
    clock, ddb = _dynamo()
    intervals = {"campaign#c": 0.1, "sender#s": 0.05}
    first, gap, granted = limits.reserve_within(intervals, 5, clock, 10.0, 0.05, ddb=ddb)
    second, _, more = limits.reserve_within(intervals, 5, clock, 10.0, 0.05, ddb=ddb)
    assert (gap, granted, more) == (0.1, 5, 5)
    assert second >= first + 5 * gap - 1e-9
    assert ddb.requests["dynamodb.TransactGetItems"] == 2
    assert ddb.requests["dynamodb.TransactWriteItems"] == 2


def test_a_commit_between_read_and_write_cancels_the_transaction_and_the_code_retries() -> None:
    clock, ddb = _dynamo()
    intervals = {"sender#s": 0.01}
    limits.reserve_within(intervals, 1, clock, 10.0, ddb=ddb)
    real_get = ddb.transact_get_items
    interfered: list[bool] = []

    def get_then_another_consumer_commits(TransactItems: list[dict[str, Any]]) -> dict[str, Any]:
        out = real_get(TransactItems=TransactItems)
        if not interfered:  # another consumer reserves right after this one read
            interfered.append(True)
            clock.now += 0.001
            ddb.items["sender#s"] = (repr(float(ddb.items["sender#s"][0]) + 1), clock.now)
        return out

    ddb.transact_get_items = get_then_another_consumer_commits  # type: ignore[method-assign]
    first, _, granted = limits.reserve_within(intervals, 1, clock, 10.0, ddb=ddb)
    assert ddb.conflicts == 1 and granted == 1
    assert ddb.requests["dynamodb.TransactWriteItems"] == 3  # one cancelled, then retried


def test_the_gateway_model_has_the_stated_latency_and_answers_429_to_a_burst() -> None:
    gateway = sim.Gateway(random.Random(3), error_rate=0.0)
    latencies = sorted(gateway.send(f"a{i}", f"s{i}", 100.0, 0.0)[1] for i in range(4000))
    assert 0.12 <= latencies[2000] <= 0.18
    assert 1.4 <= latencies[3960] <= 2.8
    burst = sim.Gateway(random.Random(4), error_rate=0.0)
    outcomes = [burst.send("b", "long", 3.0, 100.0 + i * 0.01)[0] for i in range(5)]
    assert outcomes == ["sent", "sent", "sent", "429", "429"]


def test_the_fair_queue_serves_a_quiet_brand_before_a_noisy_brands_backlog() -> None:
    noisy = sim.Campaign("c1", "b1", "s1", "short_code", 100.0, 1000, sim.START)
    quiet = sim.Campaign("c2", "b2", "s2", "short_code", 100.0, 1, sim.START)
    for fair in (False, True):
        queue = sim.SendQueue(fair)
        for i in range(100):
            queue.put(sim.Msg(sim.START, i, noisy, i, sim.START))
        queue.put(sim.Msg(sim.START + 0.5, 100, quiet, 0, sim.START + 0.5))
        queue.promote(sim.START + 1)
        batch = queue.take(10)
        assert (quiet in [m.campaign for m in batch]) is fair


def test_consumers_are_sized_from_the_senders_capacity() -> None:
    assert sim.sized_concurrency(sim.TARGET_RATE) == 90  # batches of 100, ~3 s each
    assert sim.sized_concurrency(sim.TARGET_RATE, 10, 1.0) == 300
    assert sim.sized_concurrency(10.0) == 2


@pytest.mark.parametrize("design", ["today", "proposed"])
def test_a_tiny_run_of_each_design(design: str) -> None:
    # One 100/s short-code campaign for 20 virtual seconds: today's consumers (5 x 10, each
    # waiting for its batch's slowest gateway answer) cannot keep up even with this one; the
    # proposed design paces it within 2% of the limiters' spacing, never above it.
    campaign = sim.Campaign("c0", "b0", "s0", "short_code", 100.0, 5000, sim.START)
    chosen = sim.TODAY if design == "today" else sim.proposed(50)
    chosen = dataclasses.replace(chosen, prewarmed=True)
    run = sim.Simulation(chosen, [campaign], 20.0)
    run.run()
    # (after the first batches: cold starts and the 1 s batching window)
    rate = sum(1 for t in campaign.sent if sim.START + 9 <= t < sim.START + 19) / 10.0
    ceiling = 1.0 / dispatch.slot_interval(100.0, chosen.margin)
    assert rate <= ceiling * 1.01
    assert run.requests["dynamodb.UpdateItem"] >= len(campaign.sent)  # each send recorded
    if chosen.claims_in_transaction:  # a batch's claims: one transaction and one read
        assert 0 < run.requests["dynamodb.TransactWriteItems"] < len(campaign.sent) / 5
    else:  # one claim each
        assert run.requests["dynamodb.UpdateItem"] >= 2 * len(campaign.sent)
    if design == "today":
        assert rate < 0.6 * ceiling
    else:
        assert rate >= 0.98 * 100.0 / (1 + 0.015) / (1 + dispatch.LAUNCH_SLACK)
        assert max(late for _, late in campaign.lateness) <= 4.0


def test_the_limiters_turns_are_shared_per_key_set_and_do_not_pile_up() -> None:
    ddb = sim.SimDynamo(sim.Clock(sim.START), random.Random(1), sim.Requests())
    clock = sim.Clock(sim.START)
    for n in range(limits.MAX_TURNS + 50):
        limits.reserve_within({f"campaign#c{n}": 0.01, "sender#s": 0.01}, 1, clock, 10.0,
                              ddb=ddb)
    assert len(limits._TURNS) <= limits.MAX_TURNS
    assert limits._turn(["a", "b"]) is limits._turn(["a", "b"])
