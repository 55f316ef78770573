"""The evaluation loop's handling of Python's cyclic garbage collector: paused for a cycle,
restored after it even when the cycle fails, what a cycle leaves in reference cycles freed right
after it, and reference cycles among long-lived (frozen) objects freed at the hourly collection.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from slo_operator.evaluation import garbage


class Node:
    """An object that can take part in a reference cycle."""

    def __init__(self) -> None:
        self.other: Node | None = None


def cyclic_pair() -> weakref.ref[Node]:
    """Two objects referring to each other, referenced from nowhere else: only the cyclic
    collector can free them. Returns a weak reference to one of them."""
    first, second = Node(), Node()
    first.other, second.other = second, first
    return weakref.ref(first)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def restore_collector() -> Iterator[None]:
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    if enabled:
        gc.enable()
    else:
        gc.disable()


def test_the_collector_is_paused_in_a_cycle_and_restored_after_it() -> None:
    gc.enable()
    collector = garbage.CycleCollector()
    with collector.cycle():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_failing_cycle_restores_the_collector_too() -> None:
    gc.enable()
    collector = garbage.CycleCollector()
    with pytest.raises(RuntimeError), collector.cycle():
        raise RuntimeError("the cycle failed")
    assert gc.isenabled()


def test_a_collector_off_before_the_cycle_stays_off() -> None:
    gc.disable()
    with garbage.CycleCollector().cycle():
        pass
    assert not gc.isenabled()


def test_what_a_cycle_leaves_in_reference_cycles_is_freed_after_it() -> None:
    gc.enable()
    collector = garbage.CycleCollector()
    with collector.cycle():
        left = cyclic_pair()
        assert left() is not None  # nothing collects while the cycle runs
    assert left() is None


def test_survivors_are_frozen_and_their_reference_cycles_freed_at_the_hourly_collection() -> None:
    gc.enable()
    clock = Clock()
    collector = garbage.CycleCollector(full_every_seconds=3600, clock=clock)
    kept: list[Node] = []
    with collector.cycle():
        kept.append(Node())
        kept[0].other = Node()
        kept[0].other.other = kept[0]
    assert gc.get_freeze_count() > 0
    survivor = weakref.ref(kept.pop())  # now garbage, but frozen: the next cycles skip it
    with collector.cycle():
        pass
    assert survivor() is not None
    clock.now += 3600
    with collector.cycle():
        pass
    assert survivor() is None
