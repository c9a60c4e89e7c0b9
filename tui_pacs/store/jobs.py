"""The transfer queue's rows: all SQL for the ``job`` and ``job_failure`` tables.

Jobs are rows, not threads (design.md): whoever runs a job first *claims*
it in one write transaction, which stamps it with an owner
(``host:pid:process-start``), so two processes never run the same job, and
after a crash :meth:`JobStore.recover` can tell a job whose owner is gone
from one still running in another process. States::

    queued -> running -> done | failed | cancelled
                  \\-> queued (transient failure, retried after a backoff)
    running -> cancelling -> cancelled     (cancel requested while running)
"""

from __future__ import annotations

import builtins
import json
import os
import socket
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tui_pacs.store.errors import StoreError
from tui_pacs.store.index import Index

QUEUED, RUNNING, CANCELLING = "queued", "running", "cancelling"
DONE, FAILED, CANCELLED = "done", "failed", "cancelled"
FINAL_STATES = (DONE, FAILED, CANCELLED)
ACTIVE_STATES = (RUNNING, CANCELLING)


class JobNotFound(StoreError):
    title = "No such job"


class JobStateError(StoreError):
    title = "Cannot do that to this job"


def now_iso(offset_seconds: float = 0.0) -> str:
    """UTC timestamps that sort as text."""
    moment = datetime.now(UTC) + timedelta(seconds=offset_seconds)
    return moment.isoformat(timespec="milliseconds")


def _process_start() -> str:
    try:
        return Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "0"


def this_owner() -> str:
    """``host:pid:start``: the start time guards against a recycled PID."""
    return f"{socket.gethostname()}:{os.getpid()}:{_process_start()}"


def owner_alive(owner: str) -> bool:
    """Whether the process that claimed a job still runs (on this host; others are assumed alive)."""
    try:
        host, pid_text, start = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname():
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[19] == start


@dataclass(frozen=True)
class JobRow:
    """One job as stored."""

    id: int
    kind: str
    state: str
    node: str
    description: str
    params: dict[str, Any]
    total: int
    completed: int
    failed: int
    warnings: int
    bytes: int
    attempts: int
    max_attempts: int
    error: str
    created_at: str
    started_at: str
    finished_at: str
    next_attempt_at: str
    owner: str

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    def seconds(self) -> float:
        """Time spent since the last start (to now while running)."""
        if not self.started_at:
            return 0.0
        end = datetime.fromisoformat(self.finished_at) if self.finished_at else datetime.now(UTC)
        return max(0.0, (end - datetime.fromisoformat(self.started_at)).total_seconds())

    def rate(self) -> float:
        """Instances per second over the last run."""
        seconds = self.seconds()
        return self.completed / seconds if seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["seconds"] = round(self.seconds(), 3)
        data["rate"] = round(self.rate(), 1)
        data["mb_per_s"] = round(self.bytes / 1e6 / data["seconds"], 2) if data["seconds"] else 0.0
        return data


_COLUMNS = ("pk", "kind", "state", "node", "description", "params", "total", "completed", "failed",
            "warnings", "bytes", "attempts", "max_attempts", "error", "created_at", "started_at",
            "finished_at", "next_attempt_at", "owner")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM job"


def _row(values: sqlite3.Row | tuple[Any, ...]) -> JobRow:
    data = dict(zip(_COLUMNS, values))
    data["id"] = data.pop("pk")
    data["params"] = json.loads(data["params"] or "{}")
    return JobRow(**data)


class JobStore:
    """Blocking job SQL over the archive's index (each thread uses its own connection)."""

    def __init__(self, index: Index) -> None:
        self.index = index

    def submit(self, kind: str, *, node: str = "", description: str = "", params: dict[str, Any] | None = None,
               total: int = 0, max_attempts: int = 3) -> JobRow:
        """Create a queued job and return it as created, read in the creating transaction: read
        after the commit, a running dispatcher may already have claimed it."""
        with self.index.transaction() as conn:
            conn.execute("UPDATE job_sequence SET last = last + 1")  # ids are never reused (schema v6)
            (job_id,) = conn.execute("SELECT last FROM job_sequence").fetchone()
            conn.execute(
                "INSERT INTO job (pk, kind, state, node, description, params, total, max_attempts, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, kind, QUEUED, node, description, json.dumps(params or {}), total, max_attempts,
                 now_iso()))
            return self.get(int(job_id))  # inside the transaction: reads what it just wrote

    def get(self, job_id: int) -> JobRow:
        row = self.index.connection().execute(f"{_SELECT} WHERE pk = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFound(f"there is no job {job_id}")
        return _row(row)

    def list(self, *, limit: int = 200, states: Iterable[str] | None = None) -> list[JobRow]:
        """Newest first."""
        chosen = tuple(states or ())
        where = f" WHERE state IN ({', '.join('?' * len(chosen))})" if chosen else ""
        rows = self.index.connection().execute(f"{_SELECT}{where} ORDER BY pk DESC LIMIT ?", (*chosen, limit))
        return [_row(r) for r in rows]

    def claim(self, job_id: int, owner: str) -> JobRow | None:
        """Take one queued job (due or not) for ``owner``; None if it is not queued."""
        with self.index.transaction() as conn:
            cursor = conn.execute(
                "UPDATE job SET state = ?, owner = ?, attempts = attempts + 1, started_at = ?, "
                "finished_at = '', next_attempt_at = '' WHERE pk = ? AND state = ?",
                (RUNNING, owner, now_iso(), job_id, QUEUED))
            if cursor.rowcount != 1:
                return None
        return self.get(job_id)

    def claim_next(self, owner: str, *, per_node_limit: int, kinds: Iterable[str] | None = None) -> JobRow | None:
        """The oldest due queued job whose node has fewer than ``per_node_limit`` running jobs."""
        chosen = tuple(kinds or ())
        kind_sql = f" AND j.kind IN ({', '.join('?' * len(chosen))})" if chosen else ""
        with self.index.transaction() as conn:
            row = conn.execute(
                "SELECT j.pk FROM job j WHERE j.state = ? AND (j.next_attempt_at = '' OR j.next_attempt_at <= ?)"
                f"{kind_sql} AND (SELECT count(*) FROM job r WHERE r.node = j.node AND r.state IN (?, ?)) < ? "
                "ORDER BY j.pk LIMIT 1",
                (QUEUED, now_iso(), *chosen, RUNNING, CANCELLING, per_node_limit)).fetchone()
            if row is None:
                return None
            conn.execute(
                "UPDATE job SET state = ?, owner = ?, attempts = attempts + 1, started_at = ?, "
                "finished_at = '', next_attempt_at = '' WHERE pk = ?", (RUNNING, owner, now_iso(), row[0]))
        return self.get(int(row[0]))

    def progress(self, job_id: int, *, total: int, completed: int, failed: int, warnings: int,
                 bytes_: int) -> str:
        """Store counters; return the state so a worker learns of a cancel request."""
        with self.index.transaction() as conn:
            conn.execute("UPDATE job SET total = ?, completed = ?, failed = ?, warnings = ?, bytes = ? "
                         "WHERE pk = ?", (total, completed, failed, warnings, bytes_, job_id))
            row = conn.execute("SELECT state FROM job WHERE pk = ?", (job_id,)).fetchone()
        return str(row[0]) if row else CANCELLED

    def finish(self, job_id: int, state: str, *, error: str = "", retry_in: float | None = None) -> JobRow:
        """End a run: done, failed, cancelled, or back to queued after ``retry_in`` seconds."""
        with self.index.transaction() as conn:
            if retry_in is not None:
                conn.execute("UPDATE job SET state = ?, error = ?, next_attempt_at = ?, finished_at = ?, "
                             "owner = '' WHERE pk = ?", (QUEUED, error, now_iso(retry_in), now_iso(), job_id))
            else:
                conn.execute("UPDATE job SET state = ?, error = ?, finished_at = ?, owner = '' WHERE pk = ?",
                             (state, error, now_iso(), job_id))
        return self.get(job_id)

    def add_failures(self, job_id: int, failures: Iterable[tuple[str, str]]) -> None:
        rows = [(job_id, uid, reason) for uid, reason in failures]
        if rows:
            with self.index.transaction() as conn:
                conn.executemany("INSERT INTO job_failure (job_pk, sop_uid, reason) VALUES (?, ?, ?)", rows)

    def failures(self, job_id: int) -> builtins.list[tuple[str, str]]:
        rows = self.index.connection().execute(
            "SELECT sop_uid, reason FROM job_failure WHERE job_pk = ? ORDER BY rowid", (job_id,))
        return [(r[0], r[1]) for r in rows]

    def request_cancel(self, job_id: int) -> JobRow:
        """Queued jobs are cancelled at once; running ones are asked to stop (their worker polls)."""
        with self.index.transaction() as conn:
            conn.execute("UPDATE job SET state = ?, finished_at = ?, error = 'cancelled by the user' "
                         "WHERE pk = ? AND state = ?", (CANCELLED, now_iso(), job_id, QUEUED))
            conn.execute("UPDATE job SET state = ? WHERE pk = ? AND state = ?", (CANCELLING, job_id, RUNNING))
        job = self.get(job_id)
        if job.state not in (CANCELLED, CANCELLING):
            raise JobStateError(f"job {job_id} is {job.state}; only queued or running jobs can be cancelled")
        return job

    def retry(self, job_id: int) -> JobRow:
        """Queue a failed or cancelled job again, with a fresh retry budget."""
        with self.index.transaction() as conn:
            conn.execute("UPDATE job SET state = ?, error = '', next_attempt_at = '', finished_at = '', "
                         "attempts = 0, completed = 0, failed = 0, warnings = 0, bytes = 0 "
                         "WHERE pk = ? AND state IN (?, ?)", (QUEUED, job_id, FAILED, CANCELLED))
            conn.execute("DELETE FROM job_failure WHERE job_pk = ? AND "
                         "(SELECT state FROM job WHERE pk = ?) = ?", (job_id, job_id, QUEUED))
        job = self.get(job_id)
        if job.state != QUEUED:
            raise JobStateError(f"job {job_id} is {job.state}; only failed or cancelled jobs can be retried")
        return job

    def clear_finished(self) -> int:
        """Delete done, failed and cancelled jobs (and their failure lists); returns how many."""
        marks = ", ".join("?" * len(FINAL_STATES))
        with self.index.transaction() as conn:
            cursor = conn.execute(f"DELETE FROM job WHERE state IN ({marks})", FINAL_STATES)
            return int(cursor.rowcount)

    def recover(self, is_alive: Callable[[str], bool] = owner_alive) -> builtins.list[JobRow]:
        """After a restart: jobs whose owner is gone are queued again (or cancelled if asked to)."""
        recovered: list[int] = []
        with self.index.transaction() as conn:
            rows = conn.execute("SELECT pk, state, owner FROM job WHERE state IN (?, ?)", ACTIVE_STATES).fetchall()
            for pk, state, owner in rows:
                if is_alive(owner):
                    continue
                if state == CANCELLING:
                    conn.execute("UPDATE job SET state = ?, finished_at = ?, owner = '', "
                                 "error = 'cancelled (its process ended)' WHERE pk = ?", (CANCELLED, now_iso(), pk))
                else:
                    conn.execute("UPDATE job SET state = ?, owner = '', next_attempt_at = '', error = ? "
                                 "WHERE pk = ?", (QUEUED, ("interrupted: the process running it ended; queued to "
                                                   "resume"), pk))
                recovered.append(int(pk))
        return [self.get(pk) for pk in recovered]
