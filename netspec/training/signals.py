"""Stop requests: SIGINT (Ctrl-C) and SIGTERM (a scheduler, `docker stop`, `timeout`) ask a run
to stop after its current step, with a checkpoint, instead of killing it where it stands. A
second SIGINT aborts at once (KeyboardInterrupt), for a run that will not stop."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

# The shell's exit status of a process ended by a signal: 128 + its number.
EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}


@dataclass
class StopRequest:
    """The first stop signal received, by name (`SIGTERM`), or "" while none has come."""

    signal: str = ""

    def __bool__(self) -> bool:
        return bool(self.signal)


@contextmanager
def stop_requests(enabled: bool = True) -> Iterator[StopRequest]:
    """Turn SIGINT and SIGTERM into a StopRequest while the block runs; the previous handlers
    come back after it. Not `enabled`, or outside the main thread (where Python cannot take
    signals), the request stays empty and signals keep their handlers."""
    request = StopRequest()
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield request
        return

    def handle(number: int, frame: FrameType | None) -> None:
        name = signal.Signals(number).name
        if request.signal and name == "SIGINT":
            raise KeyboardInterrupt  # the second Ctrl-C: stop now
        request.signal = request.signal or name

    previous = {s: signal.signal(s, handle) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield request
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
