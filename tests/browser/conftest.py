"""Fixtures for the browser tests."""

from tests.browser.live import live_node  # noqa: F401  (a real node on a loopback port)
