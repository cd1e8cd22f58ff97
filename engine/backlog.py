"""A bounded hand-over between two stages of the live path that drops the oldest, never blocks.

Every queue between receiving and encoding is one of these (or, inside aiortc, a subclass of
its own queue types with the same rule: ``ingest.receiver``). A live engine that cannot keep up
must lose old media, not delay new media: a full backlog discards its oldest item to make room,
so what waits is at most ``capacity`` items old, and the number discarded is counted.
``high_water`` records the most items ever held at once (the tests read it: the bound held).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Backlog(Generic[T]):
    """A thread-safe FIFO of at most ``capacity`` items; ``put`` evicts the oldest when full.

    ``on_put`` (optional) is called after each put, outside the lock: the consumer's wake-up.
    """

    def __init__(
        self, capacity: int, *, name: str = "", on_put: Callable[[], None] | None = None
    ) -> None:
        if capacity < 1:
            raise ValueError("a backlog holds at least one item")
        self.capacity = capacity
        self.name = name
        self._items: deque[T] = deque()
        self._lock = threading.Lock()
        self._on_put = on_put
        self.put_count = 0
        self.dropped = 0
        self.high_water = 0

    def put(self, item: T) -> T | None:
        """Append ``item``; returns the item evicted to make room (None when there was room)."""
        evicted: T | None = None
        with self._lock:
            if len(self._items) >= self.capacity:
                evicted = self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self.put_count += 1
            self.high_water = max(self.high_water, len(self._items))
        if self._on_put is not None:
            self._on_put()
        return evicted

    def peek(self) -> T | None:
        """The oldest item, left in place (None when empty)."""
        with self._lock:
            return self._items[0] if self._items else None

    def get(self) -> T | None:
        """Remove and return the oldest item (None when empty)."""
        with self._lock:
            return self._items.popleft() if self._items else None

    def __len__(self) -> int:
        return len(self._items)
