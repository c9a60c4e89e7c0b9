"""Job kinds: what a row's ``params`` mean and the blocking work that carries one out.

Each runner is synchronous and runs in a worker thread (see
:mod:`tui_pacs.services.queue`); it reports through ``ctx.report`` and
checks ``ctx.cancel``. It raises a :class:`TuiPacsError` when the job did
not fully succeed, so the queue can decide between retry and failure.

params by kind:

* ``send``: ``{"study": [UID...], "series": [UID...], "paths": [PATH...]}``
* ``move``: ``{"study": [UID...]}`` or ``{"keys": {KEYWORD: VALUE}, "level": "STUDY"}``,
  plus ``"root"`` and ``"destination"`` (empty: this node, through a receiver)
* ``get``: as move, without a destination
* ``import``: ``{"paths": [PATH...]}``; ``export``: ``{"study": [...], "series": [...], "to": DIR, "profile": NAME}``
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tui_pacs.config.model import Config, RemoteNode
from tui_pacs.domain.attributes import Level, Root
from tui_pacs.domain.errors import TuiPacsError
from tui_pacs.net.errors import NetError, OperationFailed
from tui_pacs.net.scu.store import StoreItem, TransferCounts
from tui_pacs.store.archive import Archive
from tui_pacs.store.errors import StoreError
from tui_pacs.store.query import Query

log = logging.getLogger(__name__)

KINDS = ("send", "move", "get", "import", "export")


class UnknownNode(TuiPacsError):
    title = "Unknown node"


class IncompleteTransfer(TuiPacsError):
    """The operation ended, but not everything arrived."""

    title = "Incomplete transfer"


@dataclass
class JobContext:
    """What a runner may touch."""

    archive: Archive
    config: Config
    cancel: threading.Event
    report: Callable[[TransferCounts], None]


def node_named(config: Config, name: str) -> RemoteNode:
    """The configured node ``name``, or one readable error listing the known names."""
    node = config.nodes.get(name)
    if node is None:
        known = ", ".join(sorted(config.nodes)) or "none configured; add one with `tui-pacs nodes add`"
        raise UnknownNode(f"no node named {name!r} (known: {known})")
    return node


def run(kind: str, node_name: str, params: dict[str, Any], ctx: JobContext) -> TransferCounts:
    """Carry out one job; return its final counts or raise why it did not fully succeed."""
    runner = _RUNNERS.get(kind)
    if runner is None:
        raise TuiPacsError(f"unknown job kind {kind!r}")
    counts = runner(node_name, params, ctx)
    if counts.failed:
        raise IncompleteTransfer(f"{counts.failed} of {counts.total} instances did not arrive"
                                 + (f" (first: {counts.failures[0][1]})" if counts.failures else ""))
    return counts


# -- send ---------------------------------------------------------------------------------------


def store_items(archive: Archive, params: dict[str, Any]) -> list[StoreItem]:
    """The instances a send job covers: archive studies/series, then files or folders on disk."""
    items: dict[str, StoreItem] = {}
    for level, key, uids in ((Level.STUDY, "StudyInstanceUID", params.get("study")),
                             (Level.SERIES, "SeriesInstanceUID", params.get("series"))):
        if uids:
            for uid, sop_class, syntax, path in archive.index.instance_files(Query(level, {key: "\\".join(uids)})):
                items.setdefault(uid, StoreItem(uid, sop_class, syntax, path))
    for file in _files(params.get("paths") or []):
        item = _item_from_file(file)
        if item is not None:
            items.setdefault(item.sop_instance_uid, item)
    if not items:
        raise StoreError("nothing to send: no matching instances in the archive or readable DICOM files")
    return list(items.values())


def _files(paths: list[str]) -> Iterator[Path]:
    for text in paths:
        path = Path(text)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file())
        elif path.is_file():
            yield path
        else:
            raise StoreError(f"{path}: no such file or directory")


def _item_from_file(path: Path) -> StoreItem | None:
    from pydicom.errors import InvalidDicomError

    try:
        return StoreItem.from_file(path)
    except (InvalidDicomError, AttributeError, OSError, ValueError) as exc:
        log.info("skipping %s: not a sendable DICOM file (%s)", path, exc)
        return None


def _run_send(node_name: str, params: dict[str, Any], ctx: JobContext) -> TransferCounts:
    from tui_pacs.net.scu.store import send_c_store

    node = node_named(ctx.config, node_name)
    items = store_items(ctx.archive, params)
    return send_c_store(ctx.config.local.ae_title, node, items, progress=ctx.report, cancel=ctx.cancel)


# -- move and get -------------------------------------------------------------------------------


def _retrieve_items(node: RemoteNode, params: dict[str, Any], ctx: JobContext) -> list[Any]:
    from tui_pacs.net.scu import retrieve

    if params.get("study"):
        return retrieve.studies(params["study"])
    root = Root(params.get("root", "STUDY"))
    level = Level.parse(params.get("level", "STUDY"))
    items = retrieve.resolve(ctx.config.local.ae_title, node, params.get("keys") or {}, level=level, root=root)
    if not items:
        raise OperationFailed(f"{node.name} has nothing matching {params.get('keys')}")
    return items


def _run_move(node_name: str, params: dict[str, Any], ctx: JobContext) -> TransferCounts:
    from tui_pacs.net.scu.move import send_c_move
    from tui_pacs.net.scu.receiver import storage_receiver

    node = node_named(ctx.config, node_name)
    local = ctx.config.local
    destination = params.get("destination") or local.ae_title
    items = _retrieve_items(node, params, ctx)
    with ExitStack() as stack:
        if destination == local.ae_title:
            try:
                stack.enter_context(storage_receiver(local, ctx.archive))
            except NetError as exc:
                # Most likely `tui-pacs serve` holds the port and will store what arrives.
                log.info("not starting a receiver (%s); assuming our SCP is listening", exc)
        return send_c_move(local.ae_title, node, destination, items, root=Root(params.get("root", "STUDY")),
                           progress=ctx.report, cancel=ctx.cancel)


def _run_get(node_name: str, params: dict[str, Any], ctx: JobContext) -> TransferCounts:
    from tui_pacs.net.scu.get import send_c_get

    node = node_named(ctx.config, node_name)
    items = _retrieve_items(node, params, ctx)
    return send_c_get(ctx.config.local.ae_title, node, items, ctx.archive, root=Root(params.get("root", "STUDY")),
                      progress=ctx.report, cancel=ctx.cancel)


# -- import and export (the foundation's operations, as jobs) -------------------------------------


def _run_import(_node: str, params: dict[str, Any], ctx: JobContext) -> TransferCounts:
    from tui_pacs.store.importer import ImportProgress, import_paths

    counts = TransferCounts()

    def progress(p: ImportProgress) -> None:
        counts.total, counts.completed = p.total, p.done
        ctx.report(counts)

    report = import_paths(ctx.archive, params.get("paths") or [], progress=progress)
    counts.completed = report.imported + report.duplicates
    counts.failed = len(report.failures)
    counts.total = counts.completed + counts.failed
    counts.bytes = report.bytes
    counts.failures = list(report.failures)
    return counts


def _run_export(_node: str, params: dict[str, Any], ctx: JobContext) -> TransferCounts:
    from tui_pacs.domain.media import media_profile
    from tui_pacs.store.exporter import export_fileset

    files = [(i.sop_instance_uid, i.sop_class_uid, i.transfer_syntax, i.path)
             for i in store_items(ctx.archive, {"study": params.get("study"), "series": params.get("series")})]
    counts = TransferCounts(total=len(files))

    def progress(done: int, total: int) -> None:
        counts.completed, counts.total = done, total
        ctx.report(counts)

    report = export_fileset(files, Path(params["to"]), media_profile(params.get("profile", "STD-GEN-CD")),
                            progress=progress)
    counts.completed = report.exported
    counts.failed = len(report.skipped)
    counts.failures = list(report.skipped)
    return counts


_RUNNERS: dict[str, Callable[[str, dict[str, Any], JobContext], TransferCounts]] = {
    "send": _run_send, "move": _run_move, "get": _run_get, "import": _run_import, "export": _run_export,
}
