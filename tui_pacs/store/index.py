"""The SQLite index of the archive (blocking API; see :mod:`tui_pacs.store.async_index`).

Thread model: pynetdicom calls handlers on one thread per association, so
every thread gets its own connection (``threading.local``). SQLite allows one
writer at a time; a process-wide lock serialises writers so they queue here
instead of spinning on SQLITE_BUSY. WAL lets readers run while one writes.
Every write goes through one connection, whose commits are not flushed by
SQLite (``synchronous=NORMAL``): a :meth:`Index.transaction` flushes the WAL
itself before it returns, and the instance rows of :meth:`Index.add_each` are
made durable by the group commit's flush that follows (see
:mod:`.group_commit`), one flush for the files and their rows together.
"""

from __future__ import annotations

import functools
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_pacs.domain.attributes import Level
from tui_pacs.store.errors import IndexCorrupt, OutOfResources, StoreError
from tui_pacs.store.files import storage_error
from tui_pacs.store.query import Query, build_count, build_pk_select, build_select, row_to_record
from tui_pacs.store.records import InstanceRecord
from tui_pacs.store.schema import migrate

log = logging.getLogger(__name__)

_BUSY_TIMEOUT_MS = 30_000


def configure_connection(conn: sqlite3.Connection) -> None:
    """Pragmas every connection needs (also used by the aiosqlite wrapper)."""
    conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA cache_size = -32000")
    conn.execute("PRAGMA temp_store = MEMORY")


@dataclass(frozen=True)
class AddOutcome:
    """What :meth:`Index.add_each` did with a record."""

    inserted: bool
    duplicate: bool = False
    old_path: str | None = None


class Index:
    """Patients, studies, series and instances, with the counts the Q/R model needs."""

    def __init__(self, db_path: Path, store_root: Path) -> None:
        self.db_path = db_path
        self.store_root = store_root
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None

    # -- connections --------------------------------------------------------

    def open(self) -> Index:
        """Create or migrate the database; safe to call more than once."""
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        conn = self.connection()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            with self._write_lock:
                migrate(conn)
        except sqlite3.DatabaseError as exc:
            raise IndexCorrupt(f"{self.db_path}: {exc}") from exc
        return self

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit mode; transactions are explicit).

        Inside :meth:`transaction` it is the writer's, so what the
        transaction has written is what the thread reads.
        """
        conn: sqlite3.Connection | None = getattr(self._local, "writing", None) or getattr(
            self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    def _connect(self) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(self.db_path, isolation_level=None, check_same_thread=False)
            configure_connection(conn)
        except sqlite3.DatabaseError as exc:
            raise IndexCorrupt(f"{self.db_path}: {exc}") from exc
        with self._connections_lock:
            self._connections.append(conn)
        return conn

    def close(self) -> None:
        with self._connections_lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
        self._local = threading.local()
        with self._write_lock:
            self._writer = None

    def _writer_connection(self) -> sqlite3.Connection:
        """The one connection every write goes through (``_write_lock`` held).

        Its commits are not flushed by SQLite (``synchronous=NORMAL``, which in
        WAL mode still flushes around every checkpoint): whoever writes
        decides when the WAL is flushed (:meth:`sync`).
        """
        if self._writer is None:
            self._writer = self._connect()
            self._writer.execute("PRAGMA synchronous = NORMAL")
        return self._writer

    @property
    def wal_path(self) -> Path:
        """The write-ahead log, where every commit lands before a checkpoint."""
        return self.db_path.with_name(self.db_path.name + "-wal")

    def sync(self) -> None:
        """Flush the write-ahead log: every commit made so far is durable once this returns.

        Raises :class:`StoreError` (OutOfResources when the disk is full).
        """
        try:
            fd = os.open(self.wal_path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:  # checkpointed and removed by the last connection to close
            return
        except OSError as exc:
            raise storage_error(exc, "the index") from exc
        try:
            os.fdatasync(fd)
        except OSError as exc:
            raise storage_error(exc, "the index") from exc
        finally:
            os.close(fd)

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction: serialised, committed, rolled back on any error.

        The commit is flushed before this returns, unless ``durable=False``:
        then the caller flushes it (:meth:`sync`, or the group commit's flush
        of the whole filesystem).

        Every write goes through one connection, whichever thread asks (the
        group commit's batches are led by any association's thread): a
        connection's page cache is dropped whenever another connection has
        written, so with a connection per writing thread each commit read
        its pages back first.
        """
        with self._write_lock:
            conn = self._writer_connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise _as_store_error(exc) from exc
            self._local.writing = conn
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise _as_store_error(exc) from exc
                raise
            finally:
                self._local.writing = None
        if durable:
            self.sync()

    # -- writing ------------------------------------------------------------

    def add_each(self, records: Sequence[InstanceRecord], *,
                 replace: bool = False) -> list[AddOutcome | StoreError]:
        """Insert a batch, each record on its own; its outcome or its error in its place.

        Committed, not flushed: the caller makes the rows durable (the group
        commit flushes them with their files). Until it says so
        (:meth:`forget_unflushed`), each new row is listed as unflushed, so
        that a crash before that flush is repaired at the next start.

        New instances of series already indexed, the usual received
        instance, go in first as one statement for the whole batch
        (:meth:`_add_under_known_series`). The rest (a new series, a
        duplicate, anything that failed there) share one transaction; one bad
        record must not fail the others: when any fails, that transaction is
        rolled back and run again with each record under a SAVEPOINT. A
        failure of that commit raises for the records in it.
        """
        results: dict[int, AddOutcome | StoreError] = {}
        if not replace:
            results = dict.fromkeys(self._add_under_known_series(records), AddOutcome(inserted=True))
        rest = [n for n in range(len(records)) if n not in results]
        if rest:
            results.update(zip(rest, self._add_in_transaction([records[n] for n in rest], replace=replace)))
        return [results[n] for n in range(len(records))]

    def _add_under_known_series(self, records: Sequence[InstanceRecord]) -> list[int]:
        """Insert the instances whose series is indexed and who are not, as one INSERT OR IGNORE
        per hundred, each committed on its own (SQLite's implicit transaction, as durable as an
        explicit one); return the positions of those inserted.

        Each statement is one release of the interpreter lock, and while
        other associations are receiving, each taking it back can wait for
        them: a batch of received instances was BEGIN, a look-up and an
        insert for each, and COMMIT. Anything else (a new series, a
        duplicate, a failing row) is left for :meth:`_add_in_transaction`.
        """
        inserted: list[int] = []
        with self._write_lock:
            writer = self._writer_connection()
            for start in range(0, len(records), _ROWS_PER_INSERT):
                chunk = records[start:start + _ROWS_PER_INSERT]
                columns = tuple(chunk[0].instance)
                if any(tuple(record.instance) != columns for record in chunk):
                    continue
                params = [value for record in chunk
                          for value in (*record.instance.values(), record.series["series_uid"])]
                try:
                    added = {row[0] for row in writer.execute(
                        _instances_under_series_sql(columns, len(chunk)), params).fetchall()}
                except sqlite3.Error:
                    continue  # met again, and reported, by the transaction
                for n, record in enumerate(chunk):
                    if record.sop_instance_uid in added:
                        added.discard(record.sop_instance_uid)  # the same instance twice: once
                        inserted.append(start + n)
        return inserted

    def _add_in_transaction(self, records: Sequence[InstanceRecord], *,
                            replace: bool) -> list[AddOutcome | StoreError]:
        try:  # the usual case, every row good: no savepoint statements (two per row)
            with self.transaction(durable=False) as conn:
                return [self._add(conn, record, replace=replace) for record in records]
        except StoreError as exc:
            if len(records) == 1:  # alone in its transaction: the rollback undid nothing else
                return [exc]
        # Rolled back: again, each row under its own savepoint.
        results: list[AddOutcome | StoreError] = []
        with self.transaction(durable=False) as conn:
            for record in records:
                conn.execute("SAVEPOINT one")
                try:
                    results.append(self._add(conn, record, replace=replace))
                except sqlite3.Error as exc:
                    conn.execute("ROLLBACK TO one")
                    results.append(_as_store_error(exc))
                conn.execute("RELEASE one")
        return results

    def _add(self, conn: sqlite3.Connection, record: InstanceRecord, *, replace: bool) -> AddOutcome:
        # One statement finds the instance and its three parents: each statement releases and retakes
        # the interpreter lock, a thread switch when other associations are storing too.
        instance_pk, old_path, patient_pk, study_pk, series_pk = conn.execute(_LOOKUP, (
            record.sop_instance_uid, record.patient["patient_id"], record.patient["issuer"],
            record.study["study_uid"], record.series["series_uid"])).fetchone()
        if instance_pk is not None:
            if not replace:
                return AddOutcome(inserted=False, duplicate=True, old_path=old_path)
            conn.execute("DELETE FROM instance WHERE pk = ?", (instance_pk,))
        if patient_pk is None:
            patient_pk = _insert(conn, "patient", record.patient)
        if study_pk is None:
            study_pk = _insert(conn, "study", {**record.study, "patient_pk": patient_pk})
        if series_pk is None:
            series_pk = _insert(conn, "series", {**record.series, "study_pk": study_pk})
        _insert(conn, "instance", {**record.instance, "series_pk": series_pk})
        if instance_pk is not None:
            _drop_empty_parents(conn)
        return AddOutcome(inserted=True, duplicate=instance_pk is not None,
                          old_path=old_path if instance_pk is not None else None)

    def delete(self, query: Query) -> list[str]:
        """Delete everything matching ``query`` (at its level) and return the files to remove.

        Deletes bottom-up so every trigger sees its parents and counts stay right.
        """
        select = build_pk_select(query)
        scope = {
            Level.PATIENT: "series_pk IN (SELECT se.pk FROM series se JOIN study st ON st.pk = se.study_pk "
            "WHERE st.patient_pk IN ({pks}))",
            Level.STUDY: "series_pk IN (SELECT pk FROM series WHERE study_pk IN ({pks}))",
            Level.SERIES: "series_pk IN ({pks})",
            Level.IMAGE: "pk IN ({pks})",
        }[query.level].format(pks=select.sql)
        with self.transaction() as conn:
            paths = [r[0] for r in conn.execute(f"SELECT path FROM instance WHERE {scope}", select.params)]
            conn.execute(f"DELETE FROM instance WHERE {scope}", select.params)
            _drop_empty_parents(conn)
        return paths

    def remove_instances(self, paths: Sequence[str]) -> int:
        """Delete the instance rows stored under ``paths`` (durably); return how many went.

        For rows whose files did not make it to disk: a failed flush, or a
        crash before one (:mod:`.recovery`).
        """
        removed = 0
        with self.transaction() as conn:
            for path in paths:
                removed += conn.execute("DELETE FROM instance WHERE sop_uid = ? AND path = ?",
                                        (sop_uid_of(path), path)).rowcount
            _drop_empty_parents(conn)
        return removed

    def file_sizes(self, paths: Sequence[str]) -> dict[str, int]:
        """The recorded file size of each of ``paths`` that an instance row is stored under."""
        conn = self.connection()
        sizes: dict[str, int] = {}
        for path in paths:
            row = conn.execute("SELECT file_size FROM instance WHERE sop_uid = ? AND path = ?",
                               (sop_uid_of(path), path)).fetchone()
            if row is not None:
                sizes[path] = int(row[0])
        return sizes

    def unflushed(self) -> list[str]:
        """Paths of instance rows committed since their flush was last seen through (schema v7)."""
        return [row[0] for row in self.connection().execute("SELECT path FROM unflushed")]

    def forget_unflushed(self, paths: Sequence[str], *, durable: bool = False) -> None:
        """Strike ``paths`` off the unflushed list: their files and rows are durable.

        Not flushed unless ``durable``: a row struck off but still listed
        after a crash is only checked once more.
        """
        with self.transaction(durable=durable) as conn:
            for start in range(0, len(paths), _ROWS_PER_INSERT):
                chunk = paths[start:start + _ROWS_PER_INSERT]
                conn.execute(f"DELETE FROM unflushed WHERE path IN ({', '.join('?' * len(chunk))})", chunk)

    # -- reading ------------------------------------------------------------

    def find(self, query: Query, *, order: Sequence[tuple[str, bool]] | None = None,
             limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """All matches of ``query`` as keyword -> value dicts."""
        return list(self.iter_find(query, order=order, limit=limit, offset=offset))

    def iter_find(self, query: Query, *, order: Sequence[tuple[str, bool]] | None = None,
                  limit: int | None = None, offset: int = 0) -> Iterator[dict[str, Any]]:
        """Stream matches (the C-FIND SCP yields each as a pending response)."""
        select = build_select(query, order=order, limit=limit, offset=offset)
        cursor = self.connection().execute(select.sql, select.params)
        try:
            while rows := cursor.fetchmany(256):
                for row in rows:
                    yield row_to_record(select.keys, row)
        finally:
            cursor.close()

    def count(self, query: Query) -> int:
        select = build_count(query)
        (value,) = self.connection().execute(select.sql, select.params).fetchone()
        return int(value)

    def has_instance(self, sop_uid: str) -> bool:
        row = self.connection().execute("SELECT 1 FROM instance WHERE sop_uid = ?", (sop_uid,)).fetchone()
        return row is not None

    def instance_path(self, sop_uid: str) -> Path | None:
        """The absolute file path of an instance, or None if it is not in the archive."""
        row = self.connection().execute("SELECT path FROM instance WHERE sop_uid = ?", (sop_uid,)).fetchone()
        return self.store_root / row[0] if row else None

    def series_instance_paths(self, series_uid: str) -> list[Path]:
        """The files of a series, in Instance Number order."""
        rows = self.connection().execute(
            "SELECT i.path FROM instance i JOIN series se ON se.pk = i.series_pk WHERE se.series_uid = ? "
            "ORDER BY i.instance_number IS NULL, i.instance_number, i.pk",
            (series_uid,),
        )
        return [self.store_root / r[0] for r in rows]

    def instance_files(self, query: Query) -> list[tuple[str, str, str, str]]:
        """(SOP Instance UID, SOP Class UID, transfer syntax, absolute path) of every instance under the matches."""
        select = build_pk_select(query)
        scope = {
            Level.PATIENT: "st.patient_pk IN ({pks})",
            Level.STUDY: "st.pk IN ({pks})",
            Level.SERIES: "se.pk IN ({pks})",
            Level.IMAGE: "i.pk IN ({pks})",
        }[query.level].format(pks=select.sql)
        rows = self.connection().execute(
            "SELECT i.sop_uid, i.sop_class_uid, i.transfer_syntax, i.path FROM instance i "
            "JOIN series se ON se.pk = i.series_pk JOIN study st ON st.pk = se.study_pk "
            f"WHERE {scope} ORDER BY st.pk, se.series_number IS NULL, se.series_number, se.pk, "
            "i.instance_number IS NULL, i.instance_number, i.pk",
            select.params,
        )
        return [(r[0], r[1], r[2], str(self.store_root / r[3])) for r in rows]

    def total_bytes(self) -> int:
        (value,) = self.connection().execute("SELECT coalesce(sum(total_bytes), 0) FROM study").fetchone()
        return int(value)

    def studies_oldest_first(self) -> list[tuple[str, str, int]]:
        """(Study Instance UID, received_at, bytes) ordered by when the study first arrived."""
        rows = self.connection().execute(
            "SELECT study_uid, received_at, total_bytes FROM study ORDER BY received_at, pk"
        )
        return [(r[0], r[1], int(r[2])) for r in rows]

    def totals(self) -> dict[str, int]:
        conn = self.connection()
        return {
            table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in ("patient", "study", "series", "instance")
        }


def sop_uid_of(path: str) -> str:
    """The SOP Instance UID an instance's store path is named after (``.../<uid>.dcm``)."""
    return path.rsplit("/", 1)[-1].removesuffix(".dcm")


_LOOKUP = """SELECT (SELECT pk FROM instance WHERE sop_uid = ?1), (SELECT path FROM instance WHERE sop_uid = ?1),
    (SELECT pk FROM patient WHERE patient_id = ?2 AND issuer = ?3),
    (SELECT pk FROM study WHERE study_uid = ?4), (SELECT pk FROM series WHERE series_uid = ?5)"""
"""An instance's row (pk, path) and its parents' pks by their keys; NULL for each one missing."""


_ROWS_PER_INSERT = 100
"""Instances per multi-row INSERT (each row binds about 25 values; SQLite allows 32,766)."""


@functools.cache
def _instances_under_series_sql(columns: tuple[str, ...], rows: int) -> str:
    row = f"({', '.join('?' * len(columns))}, (SELECT pk FROM series WHERE series_uid = ?))"
    return (f"INSERT OR IGNORE INTO instance ({', '.join(columns)}, series_pk) VALUES "
            f"{', '.join([row] * rows)} RETURNING sop_uid")


def _insert(conn: sqlite3.Connection, table: str, values: dict[str, Any]) -> int:
    cursor = conn.execute(
        f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join('?' * len(values))})",
        tuple(values.values()),
    )
    return int(cursor.lastrowid or 0)


def _drop_empty_parents(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM series WHERE num_instances <= 0")
    conn.execute("DELETE FROM study WHERE num_series <= 0")
    conn.execute("DELETE FROM patient WHERE num_studies <= 0")


def _as_store_error(exc: sqlite3.Error) -> StoreError:
    text = str(exc)
    if "full" in text or "disk I/O" in text:
        return OutOfResources(f"the index cannot be written: {text}")
    return StoreError(f"index error: {text}")
