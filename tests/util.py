"""Small helpers for tests that wait on the hall's background threads."""
from __future__ import annotations

import time
from typing import Callable


def wait_until(predicate: Callable[[], object], timeout: float = 3.0, interval: float = 0.01):
    """Poll ``predicate`` until it returns something true; fail the test with its last value on timeout."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    assert value, f"condition not met within {timeout}s"
    return value
