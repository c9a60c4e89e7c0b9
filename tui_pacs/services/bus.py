"""The event bus: the one bridge from network and worker threads into asyncio.

Threads call :meth:`EventBus.publish_threadsafe` (a plain
``Callable[[Event], None]`` that ``net/`` can hold without importing this
module); it queues the event for the loop. On the loop,
:meth:`EventBus.publish` fans it out to subscribers.

Waking the loop costs a write to its self-pipe and, on the loop's thread, a
turn for the interpreter lock that the receiving threads then wait for: one
per stored instance was a measurable share of the SCP's time. So a burst
wakes the loop once: while events keep coming, the loop collects them every
:data:`DRAIN_SECONDS` on its own timer, and the threads only queue them.

Each subscriber has a bounded queue, so a slow reader (a TUI over a slow SSH
link, a stuck socket client) never makes the server grow without bound:

* progress events of one job replace the one still waiting in the queue
  (the reader only needs the latest counters; toolong/frogmouth's
  ``can_replace`` idea);
* when the queue is full anyway, the oldest droppable event (progress, log)
  is dropped, else the oldest event; ``dropped`` counts what was lost.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Self

from tui_pacs.domain.events import Event, JobProgress, LogRecorded

log = logging.getLogger(__name__)

DEFAULT_QUEUE_SIZE = 1000
DRAIN_SECONDS = 0.01
"""While events keep arriving from threads, how often the loop collects them (their latency)."""


def _droppable(event: Event) -> bool:
    return isinstance(event, LogRecorded) or (isinstance(event, JobProgress) and not event.is_final)


class Subscription:
    """One subscriber's bounded queue; iterate it with ``async for``."""

    def __init__(self, bus: EventBus, maxsize: int, accept: Callable[[Event], bool] | None) -> None:
        self._bus = bus
        self._maxsize = max(1, maxsize)
        self._accept = accept
        self._queue: deque[Event] = deque()
        self._ready = asyncio.Event()
        self._closed = False
        self.dropped = 0
        self.merged = 0

    def __len__(self) -> int:
        return len(self._queue)

    def offer(self, event: Event) -> None:
        """Queue ``event`` (loop thread only), merging or dropping under pressure."""
        if self._closed or (self._accept is not None and not self._accept(event)):
            return
        if isinstance(event, JobProgress):
            for index, waiting in enumerate(self._queue):
                if isinstance(waiting, JobProgress) and waiting.job_id == event.job_id \
                        and not waiting.is_final:
                    del self._queue[index]
                    self.merged += 1
                    break
        if len(self._queue) >= self._maxsize:
            victim = next((i for i, e in enumerate(self._queue) if _droppable(e)), 0)
            del self._queue[victim]
            self.dropped += 1
        self._queue.append(event)
        self._ready.set()

    async def get(self) -> Event:
        """The next event; raises :class:`StopAsyncIteration` once closed and drained."""
        while not self._queue:
            if self._closed:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        return self._queue.popleft()

    def get_nowait(self) -> Event | None:
        return self._queue.popleft() if self._queue else None

    def close(self) -> None:
        """Stop receiving; a pending ``get`` returns what is left, then stops."""
        if not self._closed:
            self._closed = True
            self._bus._unsubscribe(self)
            self._ready.set()

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        return await self.get()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    """Publish/subscribe on one event loop, fed from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop
        self._subscribers: list[Subscription] = []
        self.published = 0
        self._from_threads: deque[Event] = deque()
        self._collecting = False  # a collection is scheduled on the loop (guarded by _lock)
        self._lock = threading.Lock()
        self.wakeups = 0
        """Times a thread woke the loop (fewer than the events published from threads)."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def subscribe(self, maxsize: int = DEFAULT_QUEUE_SIZE,
                  accept: Callable[[Event], bool] | None = None) -> Subscription:
        """A new subscription (call on the loop); ``accept`` filters what it receives."""
        _ = self.loop
        subscription = Subscription(self, maxsize, accept)
        self._subscribers.append(subscription)
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscribers:
            self._subscribers.remove(subscription)

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def publish(self, event: Event) -> None:
        """Deliver ``event`` to every subscriber (loop thread only)."""
        self.published += 1
        for subscription in list(self._subscribers):
            subscription.offer(event)

    def publish_threadsafe(self, event: Event) -> None:
        """Deliver from any thread, in order; after the loop has closed the event is dropped."""
        loop = self.loop
        with self._lock:
            self._from_threads.append(event)
            if self._collecting:
                return
            self._collecting = True
        try:
            self.wakeups += 1
            loop.call_soon_threadsafe(self._collect)
        except RuntimeError:  # loop closed during shutdown
            with self._lock:
                self._collecting = False
                self._from_threads.clear()
            log.debug("event %s after the loop closed", event.kind)

    def _collect(self) -> None:
        """Publish what threads queued; look again after DRAIN_SECONDS while any came (loop only)."""
        with self._lock:
            events = list(self._from_threads)
            self._from_threads.clear()
            if not events:
                self._collecting = False
                return
        for event in events:
            self.publish(event)
        self.loop.call_later(DRAIN_SECONDS, self._collect)

    def close(self) -> None:
        """Deliver what threads have queued (loop thread only), then close every subscription."""
        with self._lock:
            events = list(self._from_threads)
            self._from_threads.clear()
        for event in events:
            self.publish(event)
        for subscription in list(self._subscribers):
            subscription.close()


class BusLogHandler(logging.Handler):
    """Forward log records (WARNING and up by default) to the bus as :class:`LogRecorded`."""

    def __init__(self, bus: EventBus, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.bus = bus

    def emit(self, record: logging.LogRecord) -> None:
        try:
            event = LogRecorded(level=record.levelname, logger=record.name, message=record.getMessage())
            self.bus.publish_threadsafe(event)
        except Exception:  # noqa: BLE001 - never let logging break the caller
            self.handleError(record)
