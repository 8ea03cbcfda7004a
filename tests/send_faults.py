"""Faults of the send consumer played by wrapping its ports (chalicelib/services/dispatch.py
`Ports`), not by hooks in product code: `after_send(hook)` calls `hook(campaign_id, phone)` after
the gateway took a message and before the consumer records it; a hook that raises plays a
consumer that dies right there (the record never happens)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

from chalicelib.services import dispatch

Hook = Callable[[str, str], None]


class _HookedStore:
    """The real store ports, with `hook` run before record_sent."""

    def __init__(self, inner: dispatch.SendStore, hook: Hook) -> None:
        self.inner = inner
        self.hook = hook

    def record_sent(self, campaign_id: str, phone: str, *args: Any, **kwargs: Any) -> bool:
        self.hook(campaign_id, phone)
        return self.inner.record_sent(campaign_id, phone, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@contextmanager
def after_send(hook: Hook) -> Iterator[None]:
    """While inside: every send consumer of this process runs `hook` between send and record."""
    def ports() -> dispatch.Ports:
        base = dispatch.Ports()
        return replace(base, store=_HookedStore(base.store, hook))  # type: ignore[arg-type]

    undo = dispatch.use_ports(ports)
    try:
        yield
    finally:
        undo()
