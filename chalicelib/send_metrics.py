"""CloudWatch metrics of the send path, written as embedded metric format (EMF) log lines.

CloudWatch Logs turns each EMF line a function prints into metrics (namespace `Proactive`): no
API call and no IAM grant, and the numbers sit next to the log lines that explain them. The send
consumer records as it goes (from its send threads); `flush()` prints what one invocation
recorded, called after each invocation (chalicelib/logs.py).

  MessagesSent       Count          taken by the gateway
  MessagesFailed     Count          refused by the gateway, also by ErrorCode (transient ones
                                    are retried; see dispatch)
  GatewayLatency     Milliseconds   one gateway send request, answered or refused
  SlotLateness       Milliseconds   how long after its reserved slot a send started
  MessagesRequeued   Count          put back on the send queue (backoff, waiting for a slot)

Alarms on them: infra/resources/ops.yaml.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections import defaultdict
from typing import Any, TextIO

NAMESPACE = "Proactive"
# EMF takes at most 100 values per metric in one line.
MAX_VALUES = 100

Dimensions = tuple[tuple[str, str], ...]


class Recorder:
    """Values recorded since the last flush, by dimension set (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[Dimensions, dict[str, list[float]]] = defaultdict(
            lambda: defaultdict(list))
        self._units: dict[str, str] = {}

    def add(self, name: str, value: float, unit: str = "Count", **dimensions: str) -> None:
        stage = os.environ.get("PROACTIVE_STAGE", "dev")
        key: Dimensions = (("Stage", stage), *sorted(dimensions.items()))
        with self._lock:
            self._values[key][name].append(value)
            self._units[name] = unit

    def flush(self, out: TextIO | None = None) -> list[dict[str, Any]]:
        """Print one EMF line per dimension set (and per 100 values); returns them."""
        with self._lock:
            values, self._values = self._values, defaultdict(lambda: defaultdict(list))
            units = dict(self._units)
        lines = []
        for dimensions, metrics in values.items():
            longest = max(len(v) for v in metrics.values())
            for start in range(0, longest, MAX_VALUES):
                part = {name: v[start:start + MAX_VALUES] for name, v in metrics.items()
                        if v[start:start + MAX_VALUES]}
                lines.append(_emf_line(dimensions, part, units))
        stream = out or sys.stdout
        for line in lines:
            stream.write(json.dumps(line) + "\n")
        stream.flush()
        return lines


def _emf_line(dimensions: Dimensions, metrics: dict[str, list[float]],
              units: dict[str, str]) -> dict[str, Any]:
    return {
        "_aws": {"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
            "Namespace": NAMESPACE,
            "Dimensions": [[name for name, _ in dimensions]],
            "Metrics": [{"Name": name, "Unit": units[name]} for name in metrics]}]},
        **dict(dimensions),
        **{name: v[0] if len(v) == 1 else v for name, v in metrics.items()},
    }


recorder = Recorder()
flush = recorder.flush


def sent(gateway_seconds: float) -> None:
    recorder.add("MessagesSent", 1)
    recorder.add("GatewayLatency", round(gateway_seconds * 1000, 1), "Milliseconds")


def failed(error_code: str | int, gateway_seconds: float) -> None:
    recorder.add("MessagesFailed", 1)  # all codes: what the alarm watches
    recorder.add("MessagesFailed", 1, ErrorCode=str(error_code))
    recorder.add("GatewayLatency", round(gateway_seconds * 1000, 1), "Milliseconds")


def slot_lateness(seconds: float) -> None:
    recorder.add("SlotLateness", round(max(0.0, seconds) * 1000, 1), "Milliseconds")


def requeued(count: int = 1) -> None:
    recorder.add("MessagesRequeued", count)
