"""Fixtures of the integrators' API tests: the EventBridge queue of the inbound tests."""

from tests.service.inbound.conftest import events_queue  # noqa: F401 - a fixture
