"""The transfer queue: asyncio on the outside, worker threads doing the DICOM work.

Jobs are rows (:mod:`tui_pacs.store.jobs`); this module picks due rows up,
runs each in a thread with :func:`asyncio.to_thread` (net/ is synchronous,
like pynetdicom), keeps at most ``per_node_limit`` jobs per remote node
running at once, retries transient failures (the peer is down, aborted,
timed out, out of resources) with exponential backoff, and honours cancel
requests made from any process (the worker polls its row's state).

Threads reach the event loop in one place, :meth:`TransferQueue._bridge`,
with ``loop.call_soon_threadsafe``; everything else sees
:class:`~tui_pacs.domain.events.JobProgress` events.

When the dispatcher stops (``serve`` shutting down, the workstation
closing) the jobs it is running are interrupted, not cancelled: their rows go
back to ``queued`` so the next queue on this home resumes them, just as
:meth:`JobStore.recover` does after a crash. Only a user's cancel request
ends a job as ``cancelled``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from tui_pacs.config.model import Config
from tui_pacs.domain.errors import TuiPacsError
from tui_pacs.domain.events import Event, JobProgress
from tui_pacs.net.errors import Cancelled
from tui_pacs.net.scu.store import TransferCounts
from tui_pacs.services import jobs as job_kinds
from tui_pacs.store import jobs as store_jobs
from tui_pacs.store.archive import Archive
from tui_pacs.store.jobs import JobRow, JobStore

log = logging.getLogger(__name__)

Publish = Callable[[Event], None]
_PROGRESS_INTERVAL = 0.25  # seconds between row updates / cancel checks while a job runs
INTERRUPTED = "interrupted: the queue running it stopped; queued to resume"


def backoff(attempt: int, base: float, limit: float) -> float:
    """Delay before retry ``attempt`` (1, 2, ...): base, 2 base, 4 base, ... capped at ``limit``."""
    return min(limit, base * (2 ** max(0, attempt - 1)))


class TransferQueue:
    """Runs the jobs of one archive."""

    def __init__(self, archive: Archive, config: Config, *, per_node_limit: int = 2, workers: int = 4,
                 retry_base: float = 2.0, retry_limit: float = 300.0, publish: Publish | None = None) -> None:
        self.archive = archive
        self.config = config
        self.store = JobStore(archive.index)
        self.per_node_limit = per_node_limit
        self.workers = workers
        self.retry_base = retry_base
        self.retry_limit = retry_limit
        self.owner = store_jobs.this_owner()
        self._publish = publish
        self._loop: asyncio.AbstractEventLoop | None = None
        try:  # made on a loop (serve, the workstation): events flow before the dispatcher starts
            self._loop = asyncio.get_running_loop()
        except RuntimeError:
            pass
        self._cancels: dict[int, threading.Event] = {}
        self._wake = asyncio.Event()
        self._stopping = False

    # -- the one bridge from worker threads into the loop ---------------------------------------

    def _bridge(self, event: Event) -> None:
        if self._publish is None or self._loop is None:
            return
        try:
            self._loop.call_soon_threadsafe(self._publish, event)
        except RuntimeError:  # loop closed while a worker finished
            pass

    def _event(self, job: JobRow, counts: TransferCounts | None = None, state: str | None = None,
               message: str = "") -> JobProgress:
        c = counts or TransferCounts(job.total, job.completed, job.failed, job.warnings, job.bytes)
        remaining = max(0, c.total - c.completed - c.failed) if c.total else None
        return JobProgress(job_id=job.id, job_kind=job.kind, state=state or job.state, completed=c.completed,
                           failed=c.failed, warning=c.warnings, remaining=remaining, message=message)

    # -- public API -----------------------------------------------------------------------------

    def submit(self, kind: str, *, node: str = "", description: str = "", params: dict[str, object] | None = None,
               max_attempts: int = 3) -> int:
        """Queue a job and wake the dispatcher; returns the job id."""
        return self.enqueue(kind, node=node, description=description, params=params, max_attempts=max_attempts).id

    def enqueue(self, kind: str, *, node: str = "", description: str = "", params: dict[str, object] | None = None,
                max_attempts: int = 3) -> JobRow:
        """Queue a job and wake the dispatcher; returns the job as queued.

        The row is the one the creating transaction wrote: read afterwards, a
        dispatcher already running may have claimed it, and a client would be
        told "running" for one run.
        """
        if kind not in job_kinds.KINDS:
            raise TuiPacsError(f"unknown job kind {kind!r}")
        if kind in ("send", "move", "get"):
            job_kinds.node_named(self.config, node)
        row = self.store.submit(kind, node=node, description=description, params=dict(params or {}),
                                max_attempts=max_attempts)
        self._wake_dispatcher()
        if self._loop is not None:
            self._bridge(self._event(row))
        return row

    def _wake_dispatcher(self) -> None:
        """asyncio.Event is not thread-safe: from another thread, set it through the loop."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self._wake.set()
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake.set()
        else:
            loop.call_soon_threadsafe(self._wake.set)

    def cancel(self, job_id: int) -> JobRow:
        """Cancel a queued job, or tell the worker running it to stop now (blocking SQL)."""
        job = self.store.request_cancel(job_id)
        event = self._cancels.get(job_id)
        if event is not None:
            event.set()
        self._bridge(self._event(job))
        return job

    def retry(self, job_id: int) -> JobRow:
        """Queue a failed or cancelled job again and wake the dispatcher (blocking SQL)."""
        job = self.store.retry(job_id)
        self._wake_dispatcher()
        self._bridge(self._event(job))
        return job

    def clear_finished(self) -> int:
        """Delete the rows of done, failed and cancelled jobs; returns how many (blocking SQL)."""
        return self.store.clear_finished()

    async def run_job(self, job_id: int) -> JobRow:
        """Run one job in the foreground until it is final, retrying with backoff (the CLI's way)."""
        self._loop = asyncio.get_running_loop()
        while True:
            job = await asyncio.to_thread(self.store.get, job_id)
            if job.is_final:
                return job
            if job.state == store_jobs.QUEUED:
                delay = _seconds_until(job.next_attempt_at)
                if delay > 0:
                    log.info("job %d: retrying in %.1f s", job_id, delay)
                    await asyncio.sleep(delay)
                claimed = await asyncio.to_thread(self.store.claim, job_id, self.owner)
                if claimed is not None:
                    await self._execute(claimed)
                    continue
            await asyncio.sleep(0.2)  # someone else holds it: watch its row

    async def serve(self, stop: asyncio.Event) -> None:
        """Dispatch queued jobs until ``stop`` is set (the daemon's way); recovers first."""
        self._loop = asyncio.get_running_loop()
        for interrupted in await asyncio.to_thread(self.store.recover):
            log.warning("job %d was interrupted; it is %s", interrupted.id, interrupted.state)
        running: set[asyncio.Task[None]] = set()
        while not stop.is_set():
            while len(running) < self.workers:
                job = await asyncio.to_thread(self.store.claim_next, self.owner,
                                              per_node_limit=self.per_node_limit)
                if job is None:
                    break
                task = asyncio.create_task(self._execute(job))
                running.add(task)
                task.add_done_callback(running.discard)
            self._wake.clear()
            waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
            _done, pending = await asyncio.wait(waiters, timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
            for w in pending:
                w.cancel()
        # Interrupt what is running; _execute puts those rows back in the queue.
        self._stopping = True
        for event in list(self._cancels.values()):
            event.set()
        if running:
            await asyncio.gather(*running, return_exceptions=True)

    # -- one run of one job ---------------------------------------------------------------------

    async def _execute(self, job: JobRow) -> None:
        cancel = threading.Event()
        self._cancels[job.id] = cancel
        self._bridge(self._event(job, state=store_jobs.RUNNING))
        reporter = _Reporter(self, job, cancel)
        ctx = job_kinds.JobContext(self.archive, self.config, cancel, reporter)
        try:
            counts = await asyncio.to_thread(job_kinds.run, job.kind, job.node, job.params, ctx)
        except Cancelled as exc:
            if await asyncio.to_thread(self._interrupted, job, reporter.counts):
                return
            await asyncio.to_thread(self._end, job, reporter.counts, store_jobs.CANCELLED, exc.message)
        except TuiPacsError as exc:
            if cancel.is_set() and await asyncio.to_thread(self._interrupted, job, reporter.counts):
                return
            if cancel.is_set():
                await asyncio.to_thread(self._end, job, reporter.counts, store_jobs.CANCELLED,
                                        f"cancelled ({exc.message})")
            else:
                await asyncio.to_thread(self._fail, job, reporter.counts, exc)
        except Exception as exc:  # a bug: fail the job with one line, keep the traceback in the log
            log.exception("job %d crashed", job.id)
            await asyncio.to_thread(self._end, job, reporter.counts, store_jobs.FAILED,
                                    f"internal error: {type(exc).__name__}: {exc}")
        else:
            await asyncio.to_thread(self._end, job, counts, store_jobs.DONE, "")
        finally:
            self._cancels.pop(job.id, None)
            self._wake.set()

    def _interrupted(self, job: JobRow, counts: TransferCounts) -> bool:
        """When the queue stops under a job nobody asked to cancel, queue it again to resume."""
        if not self._stopping or self.store.get(job.id).state != store_jobs.RUNNING:
            return False
        self._record(job, counts)
        final = self.store.finish(job.id, store_jobs.QUEUED, error=INTERRUPTED, retry_in=0.0)
        log.warning("job %d interrupted by shutdown; it resumes when a queue runs again", job.id)
        self._bridge(self._event(final, counts, message=INTERRUPTED))
        return True

    def _fail(self, job: JobRow, counts: TransferCounts, exc: TuiPacsError) -> None:
        reason = f"{exc.title}: {exc.message}"
        transient = bool(getattr(exc, "transient", False))
        if transient and job.attempts < job.max_attempts:
            delay = backoff(job.attempts, self.retry_base, self.retry_limit)
            self._record(job, counts)
            final = self.store.finish(job.id, store_jobs.QUEUED, error=f"{reason} (retry in {delay:g} s)",
                                      retry_in=delay)
            log.warning("job %d: %s; retry %d of %d in %g s", job.id, reason, job.attempts,
                        job.max_attempts - 1, delay)
            self._bridge(self._event(final, counts, message=reason))
            return
        self._end(job, counts, store_jobs.FAILED, reason)

    def _end(self, job: JobRow, counts: TransferCounts, state: str, error: str) -> None:
        self._record(job, counts)
        final = self.store.finish(job.id, state, error=error)
        log.log(logging.INFO if state == store_jobs.DONE else logging.WARNING, "job %d %s %s", job.id, state, error)
        self._bridge(self._event(final, counts, message=error))

    def _record(self, job: JobRow, counts: TransferCounts) -> None:
        self.store.progress(job.id, total=counts.total, completed=counts.completed, failed=counts.failed,
                            warnings=counts.warnings, bytes_=counts.bytes)
        self.store.add_failures(job.id, counts.failures)


class _Reporter:
    """The progress callback a runner calls on its worker thread (throttled row updates)."""

    def __init__(self, queue: TransferQueue, job: JobRow, cancel: threading.Event) -> None:
        self.queue = queue
        self.job = job
        self.cancel = cancel
        self.counts = TransferCounts()
        self._last = 0.0

    def __call__(self, counts: TransferCounts) -> None:
        self.counts = counts
        now = time.monotonic()
        if now - self._last < _PROGRESS_INTERVAL:
            return
        self._last = now
        state = self.queue.store.progress(self.job.id, total=counts.total, completed=counts.completed,
                                          failed=counts.failed, warnings=counts.warnings, bytes_=counts.bytes)
        if state in (store_jobs.CANCELLING, store_jobs.CANCELLED):
            self.cancel.set()
        self.queue._bridge(self.queue._event(self.job, counts, state=store_jobs.RUNNING))


def _seconds_until(iso: str) -> float:
    if not iso:
        return 0.0
    return (datetime.fromisoformat(iso) - datetime.now(UTC)).total_seconds()
