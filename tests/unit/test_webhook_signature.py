"""The receiver's check the README shows (10 lines of Python) accepts our signature and refuses
a changed body, another secret and an old timestamp (issue 16.5)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from chalicelib.services import webhooks_out

README = Path(__file__).resolve().parents[2] / "README.md"


def _readme_receiver() -> Any:
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S)
    assert code is not None
    namespace: dict[str, Any] = {}
    exec(code.group(1), namespace)  # noqa: S102 - the README's own snippet
    return namespace["verified"]


def test_the_readme_receiver_verifies_our_signature() -> None:
    verified = _readme_receiver()
    body = b'{"id":"evt_1","type":"message.sent"}'
    header = webhooks_out.sign("whsec_x", int(time.time()), body)
    assert verified("whsec_x", header, body)
    assert webhooks_out.verify("whsec_x", header, body)
    assert not verified("whsec_x", header, body + b" ")
    assert not verified("whsec_y", header, body)
    old = webhooks_out.sign("whsec_x", int(time.time()) - 301, body)
    assert not verified("whsec_x", old, body) and not webhooks_out.verify("whsec_x", old, body)


def test_endpoint_urls_are_public_https() -> None:
    import pytest

    from chalicelib.domain.errors import ValidationFailed

    assert webhooks_out.check_url("https://crm.example.com/events") == \
        "https://crm.example.com/events"
    for bad in ("http://crm.example.com/events", "ftp://x.example.com", "https://10.0.0.1/x",
                "https://user:pw@crm.example.com/", "https://169.254.169.254/latest"):
        with pytest.raises(ValidationFailed) as caught:
            webhooks_out.check_url(bad)
        assert caught.value.details[0]["field"] == "url"
