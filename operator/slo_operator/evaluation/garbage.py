"""Python's cyclic garbage collector around the operator's evaluation cycles.

The registry keeps every object's body, a few hundred Python containers each, and a cycle builds
a status for every object. With 10,000 SLOs the automatic collections re-scan the registry many
times per cycle: more than half of a cycle's CPU time (bench/bench_evaluation.py's loop through a
real apiserver). So a cycle runs with the collector paused; after it, one collection frees what
the cycle left in reference cycles, and whatever survives it is frozen: later collections skip
it, while reference counting still frees it when it goes. Once an hour everything is unfrozen
and collected, so reference cycles among long-lived objects are freed too.
"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Callable, Iterator

FULL_COLLECTION_SECONDS = 3600.0
"""How often the frozen objects are collected too."""


class CycleCollector:
    """Pauses the collector for a cycle, then collects once and freezes the survivors."""

    def __init__(
        self,
        full_every_seconds: float = FULL_COLLECTION_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._full_every = full_every_seconds
        self._clock = clock
        self._last_full = clock()

    @contextlib.contextmanager
    def cycle(self) -> Iterator[None]:
        """The collector off inside; back to its previous state, then settled, on the way out
        (also when the cycle fails)."""
        enabled = gc.isenabled()
        gc.disable()
        try:
            yield
        finally:
            if enabled:
                gc.enable()
            self.settle()

    def settle(self) -> None:
        """Collect what is not frozen (everything, once an hour), then freeze the survivors."""
        now = self._clock()
        if now - self._last_full >= self._full_every:
            gc.unfreeze()
            self._last_full = now
        gc.collect()
        gc.freeze()
