"""The event bus: thread to loop hand-over, fan-out, bounded queues that merge and drop."""

from __future__ import annotations

import asyncio
import logging
import threading

from tui_pacs.domain.events import InstanceStored, JobProgress, LogRecorded
from tui_pacs.services.bus import DRAIN_SECONDS, BusLogHandler, EventBus


def stored(n: int) -> InstanceStored:
    return InstanceStored(sop_class_uid="1.2", sop_instance_uid=f"1.2.{n}")


async def test_publish_from_threads_reaches_every_subscriber() -> None:
    bus = EventBus()
    first, second = bus.subscribe(), bus.subscribe()
    threads = [threading.Thread(target=lambda i=i: bus.publish_threadsafe(stored(i))) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    received = [await asyncio.wait_for(first.get(), 5) for _ in range(50)]
    assert sorted(e.sop_instance_uid for e in received) == sorted(f"1.2.{i}" for i in range(50))
    assert len(second) == 50


async def test_progress_of_one_job_is_merged() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    for done in range(100):
        bus.publish(JobProgress(job_id=7, completed=done))
    bus.publish(JobProgress(job_id=8, completed=1))
    bus.publish(JobProgress(job_id=7, state="done", completed=100))
    events = [sub.get_nowait() for _ in range(len(sub))]
    assert [(e.job_id, e.completed, e.state) for e in events] == [(8, 1, "running"), (7, 100, "done")]
    assert sub.merged == 100


async def test_full_queue_drops_logs_before_other_events() -> None:
    bus = EventBus()
    sub = bus.subscribe(maxsize=3)
    bus.publish(stored(1))
    bus.publish(LogRecorded(level="WARNING", message="noise"))
    bus.publish(stored(2))
    bus.publish(stored(3))
    assert sub.dropped == 1
    kinds = [sub.get_nowait().kind for _ in range(3)]  # type: ignore[union-attr]
    assert kinds == ["instance.stored"] * 3


async def test_closed_subscription_ends_iteration_and_unsubscribes() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    bus.publish(stored(1))
    sub.close()
    assert bus.subscriber_count == 0
    assert [e.kind async for e in sub] == ["instance.stored"]


async def test_filter_and_log_handler() -> None:
    bus = EventBus()
    sub = bus.subscribe(accept=lambda e: e.kind == "log")
    logger = logging.getLogger("tui_pacs.test_bus")
    handler = BusLogHandler(bus)
    logger.addHandler(handler)
    try:
        bus.publish(stored(1))
        logger.warning("disk %s", "full")
        event = await asyncio.wait_for(sub.get(), 5)
    finally:
        logger.removeHandler(handler)
    assert isinstance(event, LogRecorded) and event.message == "disk full" and event.level == "WARNING"


async def test_a_burst_from_a_thread_wakes_the_loop_once_and_keeps_its_order() -> None:
    bus = EventBus()
    sub = bus.subscribe()

    def burst() -> None:
        for i in range(200):
            bus.publish_threadsafe(stored(i))

    thread = threading.Thread(target=burst)
    thread.start()
    thread.join()
    received = [await asyncio.wait_for(sub.get(), 5) for _ in range(200)]
    assert [e.sop_instance_uid for e in received] == [f"1.2.{i}" for i in range(200)]
    assert bus.wakeups == 1  # the loop did not run while the thread published
    await asyncio.sleep(3 * DRAIN_SECONDS)  # the stream has ended: the next event wakes the loop again
    await asyncio.to_thread(bus.publish_threadsafe, stored(200))
    assert (await asyncio.wait_for(sub.get(), 5)).sop_instance_uid == "1.2.200"
    assert bus.wakeups == 2


async def test_close_delivers_what_threads_queued() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    await asyncio.to_thread(bus.publish_threadsafe, stored(1))  # wakes the loop
    await asyncio.sleep(0)  # ... which collects it and looks again in DRAIN_SECONDS
    await asyncio.to_thread(bus.publish_threadsafe, stored(2))  # waits for that look
    assert len(sub) == 1 and bus.wakeups == 1
    bus.close()
    assert [e.sop_instance_uid for e in [await sub.get(), await sub.get()]] == ["1.2.1", "1.2.2"]
