"""What the workstation's local database pane asks of the archive.

Reads go through :class:`~tui_pacs.store.async_index.AsyncIndex` one page at
a time (:meth:`~tui_pacs.store.async_index.AsyncIndex.page` plus a ``count``, on two
connections at once), so 100,000 studies scroll without ever being loaded. The page next to the one
shown is found by seeking from its edge row's sort values (an index range,
however deep), any other by offset (skipped over primary keys only). Deletes, exports and dumps are blocking disk work:
the UI calls them from thread workers; they open their own
:class:`~tui_pacs.store.archive.Archive` because SQLite connections belong to
the thread that made them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui_pacs.config.model import Config
from tui_pacs.config.paths import Paths
from tui_pacs.domain.attributes import UNIQUE_KEY, Level
from tui_pacs.store.async_index import AsyncIndex
from tui_pacs.store.query import Query, can_seek

if TYPE_CHECKING:  # pydicom comes with the archive; keep it off the first-frame path
    from tui_pacs.store.archive import Archive
    from tui_pacs.store.tagtree import TagTree

# The worklist columns of each level, in display order (the unique key is always fetched too).
BROWSER_KEYS: dict[Level, tuple[str, ...]] = {
    Level.STUDY: ("PatientName", "PatientID", "PatientBirthDate", "StudyDate", "ModalitiesInStudy",
                  "StudyDescription", "AccessionNumber", "NumberOfStudyRelatedSeries",
                  "NumberOfStudyRelatedInstances"),
    Level.SERIES: ("SeriesNumber", "Modality", "SeriesDescription", "SeriesDate", "BodyPartExamined",
                   "NumberOfSeriesRelatedInstances"),
    Level.IMAGE: ("InstanceNumber", "Rows", "Columns", "NumberOfFrames", "SOPClassUID", "TransferSyntaxUID"),
}
PARENT_KEY = {Level.SERIES: "StudyInstanceUID", Level.IMAGE: "SeriesInstanceUID"}
CHILD_LEVEL = {Level.STUDY: Level.SERIES, Level.SERIES: Level.IMAGE}


@dataclass(frozen=True)
class PageRequest:
    """One page of one level: the filter keys, the parent drilled into, the sort and the window."""

    level: Level = Level.STUDY
    filters: Mapping[str, str] = field(default_factory=dict)
    parent_uid: str = ""
    order: tuple[tuple[str, bool], ...] = ()
    offset: int = 0
    limit: int = 100

    def query(self) -> Query:
        keys: dict[str, str] = {k: "" for k in BROWSER_KEYS[self.level]}
        if self.level is Level.STUDY:
            keys.update(self.filters)
        else:
            keys[PARENT_KEY[self.level]] = self.parent_uid
        return Query(self.level, keys)


@dataclass(frozen=True)
class Page:
    """Rows of one page plus the total, so the pane can say "101-200 of 100,000"."""

    request: PageRequest
    rows: list[dict[str, Any]]
    total: int
    first_key: tuple[Any, ...] = ()
    """The sort values of the first row (where the page before ends), empty if there are no rows."""
    last_key: tuple[Any, ...] = ()
    """The sort values of the last row (where the page after starts)."""

    @property
    def unique_key(self) -> str:
        return UNIQUE_KEY[self.request.level]


class LocalBrowser:
    """Paged reads of the index on the event loop; blocking actions for thread workers."""

    def __init__(self, paths: Paths, config: Config, archive: Callable[[], Archive | None] | None = None) -> None:
        self.paths = paths
        self.config = config
        self._index: AsyncIndex | None = None
        self._counter: AsyncIndex | None = None
        """A second connection, so a page and its count run at once (SQLite lets the GIL go)."""
        self._shared = archive
        self._own: Archive | None = None

    def archive(self) -> Archive:
        """The workstation's open archive, or one of our own.

        Never :meth:`Archive.open` per action: it sweeps the incoming folder,
        which would pull files from under an association that is receiving.
        """
        shared = self._shared() if self._shared else None
        if shared is not None:
            return shared
        if self._own is None:
            from tui_pacs.store.archive import Archive

            own = Archive(self.paths.index_file, self.paths.store_dir, self.config.archive)
            own.index.open()
            self._own = own
        return self._own

    def ensure_archive(self) -> None:
        """Create and migrate the index if this home has none yet (blocking)."""
        from tui_pacs.store.archive import Archive

        self.paths.ensure()
        Archive.open(self.paths, self.config).close()

    async def open(self) -> None:
        if not self.paths.index_file.exists():
            await asyncio.to_thread(self.ensure_archive)
        self._index = await AsyncIndex(self.paths.index_file).open()

    async def close(self) -> None:
        for index in (self._index, self._counter):
            if index is not None:
                await index.close()
        self._index = self._counter = None
        if self._own is not None:
            self._own.close()
            self._own = None

    async def page(self, request: PageRequest, *, with_total: bool = True, known_total: int = 0,
                   near: Page | None = None) -> Page:
        """Rows ``offset .. offset+limit`` and, unless told it is known, the total count.

        ``near`` is the page on screen: when ``request`` is the window right
        after or before it (same level, filter, parent and sort), the rows
        are found by seeking from its edge instead of counting ``offset``
        rows from the top.
        """
        if self._index is None:
            await self.open()
        assert self._index is not None
        query = request.query()
        order = list(request.order) or None
        after = before = None
        if near is not None and near.rows and replace(near.request, offset=request.offset) == request \
                and can_seek(query, order):
            if request.offset == near.request.offset + len(near.rows):
                after = near.last_key
            elif request.offset + request.limit == near.request.offset and request.offset > 0:
                before = near.first_key  # (the first window is read from the top: it is the top)
        fetch = self._index.page(query, order=order, limit=request.limit, offset=request.offset,
                                 after=after, before=before)
        if with_total:
            if self._counter is None:
                self._counter = await AsyncIndex(self.paths.index_file).open()
            (rows, first_key, last_key), total = await asyncio.gather(fetch, self._counter.count(query))
        else:
            (rows, first_key, last_key), total = await fetch, known_total
        return Page(request, rows, total, first_key, last_key)

    # -- blocking actions, for thread workers ---------------------------------

    def delete(self, level: Level, uids: Sequence[str]) -> int:
        """Delete the studies/series/instances with these UIDs and their files; the instance count."""
        archive = self.archive()
        removed = archive.index.delete(Query(level, {UNIQUE_KEY[level]: "\\".join(uids)}))
        archive.delete_paths(removed)
        return len(removed)

    def instance_files(self, level: Level, uids: Sequence[str]) -> list[tuple[str, str, str, str]]:
        """(SOP UID, SOP class, syntax, path) for everything under the selection (export, send)."""
        return self.archive().index.instance_files(Query(level, {UNIQUE_KEY[level]: "\\".join(uids)}))

    def first_instance(self, level: Level, uid: str) -> Path | None:
        """The file to dump or preview for a study, series or instance."""
        files = self.instance_files(level, [uid])
        return Path(files[0][3]) if files else None

    def series_of(self, sop_uid: str) -> str:
        """The Series Instance UID of a stored instance."""
        rows = self.archive().index.find(Query(Level.IMAGE, {"SOPInstanceUID": sop_uid, "SeriesInstanceUID": ""}))
        return str(rows[0]["SeriesInstanceUID"]) if rows else ""

    def series_files(self, series_uid: str) -> list[Path]:
        return self.archive().index.series_instance_paths(series_uid)

    def export(self, level: Level, uids: Sequence[str], destination: Path, profile_name: str,
               progress: Callable[[int, int], None] | None = None) -> Any:
        """Write the selection as a DICOMDIR file-set with the given PS3.11 profile."""
        from tui_pacs.domain.media import media_profile
        from tui_pacs.store.exporter import export_fileset

        profile = media_profile(profile_name)
        return export_fileset(self.instance_files(level, uids), destination, profile, progress)


def dump_tree(path: Path) -> TagTree:
    """The tags of one file as a tree (pixel data summarised, never decoded)."""
    import pydicom

    from tui_pacs.store.tagtree import build_tree

    return build_tree(pydicom.dcmread(path, defer_size=4096))
