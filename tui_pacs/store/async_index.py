"""The index for the event loop: the same query engine, run through aiosqlite.

aiosqlite gives the connection its own thread fed by a queue, so the UI and
the async services can page through 100,000 studies without blocking the
loop. Writes stay on the blocking :class:`~tui_pacs.store.index.Index` (they
come from association threads and importers); this side only reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import aiosqlite

from tui_pacs.store.query import (
    Query,
    build_count,
    build_page,
    build_select,
    row_to_record,
    split_sort_keys,
)


class AsyncIndex:
    """Read-only async access to the archive index."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self._conn: aiosqlite.Connection | None = None

    async def open(self) -> Self:
        """Connect; the blocking Index must have created and migrated the database first."""
        self._conn = await aiosqlite.connect(self.db_path, isolation_level=None)
        await self._conn.execute("PRAGMA busy_timeout = 30000")
        await self._conn.execute("PRAGMA query_only = ON")
        return self

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("AsyncIndex is not open")
        return self._conn

    async def find(self, query: Query, *, order: Sequence[tuple[str, bool]] | None = None,
                   limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
        """One page of matches as keyword -> value dicts."""
        select = build_select(query, order=order, limit=limit, offset=offset)
        async with self.conn.execute(select.sql, select.params) as cursor:
            rows = await cursor.fetchall()
        return [row_to_record(select.keys, row) for row in rows]

    async def page(self, query: Query, *, order: Sequence[tuple[str, bool]] | None = None, limit: int,
                   offset: int = 0, after: Sequence[Any] | None = None, before: Sequence[Any] | None = None
                   ) -> tuple[list[dict[str, Any]], tuple[Any, ...], tuple[Any, ...]]:
        """A browser's page (:func:`~tui_pacs.store.query.build_page`): its records, and the
        sort values of its first and last row, from which the pages beside it are sought."""
        select = build_page(query, order=order, limit=limit, offset=offset, after=after, before=before)
        async with self.conn.execute(select.sql, select.params) as cursor:
            fetched = list(await cursor.fetchall())
        return split_sort_keys(select.keys, fetched)

    async def count(self, query: Query) -> int:
        select = build_count(query)
        async with self.conn.execute(select.sql, select.params) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0
