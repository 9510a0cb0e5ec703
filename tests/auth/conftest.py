"""The app's clock, which account tests move."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI


class Clock:
    """The app's clock, moved by the test. It starts at the real time: the access tokens it
    stamps are checked against the real time (a token issued more than the leeway, 30 s, in
    the future is refused), so a test reads with access tokens only before it moves the
    clock."""

    def __init__(self) -> None:
        self.now = self.start = datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(app: FastAPI) -> Clock:
    clock = Clock()
    app.state.clock = clock
    return clock
