"""Import files, folders and DICOMDIR file-sets into the archive (Media FSR).

Each bad file gets one (path, reason); the rest are imported. Imports are
batched: files are copied one by one (in a few threads), and each batch is
indexed and then made durable, files and rows, by the group commit's one
flush. Importing the same data twice adds nothing.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from io import BytesIO
from pathlib import Path

from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from tui_pacs.domain.errors import TuiPacsError
from tui_pacs.store.archive import Archive
from tui_pacs.store.dicomdir import is_dicomdir_name, referenced_files
from tui_pacs.store.errors import NotDicom, OutOfResources
from tui_pacs.store.extract import Header, read_any_header, record_from_header
from tui_pacs.store.files import FileStore
from tui_pacs.store.group_commit import PendingInstance
from tui_pacs.store.index import Index
from tui_pacs.store.records import InstanceRecord

log = logging.getLogger(__name__)

BATCH_SIZE = 200
WORKERS = 4


@dataclass
class ImportReport:
    """What an import did; ``failures`` holds one (path, reason) per bad file."""

    imported: int = 0
    duplicates: int = 0
    bytes: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)
    study_uids: set[str] = field(default_factory=set)

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class ImportProgress:
    done: int
    total: int
    current: str


def discover(paths: Iterable[Path], report: ImportReport) -> list[Path]:
    """Expand folders (recursively) and DICOMDIRs into the list of files to import."""
    files: list[Path] = []
    seen: set[Path] = set()

    def add(path: Path) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            files.append(path)

    for path in paths:
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames.sort()
                for name in sorted(filenames):
                    candidate = Path(dirpath) / name
                    if not is_dicomdir_name(candidate):  # its instances are in the walk already
                        add(candidate)
        elif is_dicomdir_name(path) and path.is_file():
            try:
                found, missing = referenced_files(path)
            except NotDicom as exc:
                report.failures.append((str(path), exc.message))
                continue
            report.failures.extend((str(p), reason) for p, reason in missing)
            for candidate in found:
                add(candidate)
        elif path.exists():
            add(path)
        else:
            report.failures.append((str(path), "no such file or directory"))
    return files


@dataclass(frozen=True)
class _Staged:
    source: Path
    record: InstanceRecord | None = None
    temporary: Path | None = None
    error: str = ""


def _raw_dataset_meta(path: Path) -> tuple[Dataset, bytes]:
    """A file without the Part 10 header: parse it, and build the meta to put in front.

    The data set bytes stay as they were; only preamble and file meta are added
    (PS3.10 7.1), with the transfer syntax pydicom detected.
    """
    try:
        ds = dcmread(path, force=True, stop_before_pixels=True)
    except Exception as exc:
        raise NotDicom(f"not a DICOM file ({str(exc)[:120]})") from exc
    if "SOPInstanceUID" not in ds or "SOPClassUID" not in ds:
        raise NotDicom("not a DICOM file (no DICM prefix and no SOP Instance UID)")
    syntax = ImplicitVRLittleEndian if ds.is_implicit_VR else ExplicitVRLittleEndian
    if not ds.is_little_endian:
        syntax = ExplicitVRBigEndian
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = syntax
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    buffer = BytesIO()
    buffer.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(buffer, meta, enforce_standard=True)  # type: ignore[arg-type]
    ds.file_meta = meta
    return ds, buffer.getvalue()


def _is_part10(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(132)
    return len(head) == 132 and head[128:132] == b"DICM"


def _stage(archive: Archive, path: Path) -> _Staged:
    """Validate one file and copy it into the incoming directory (made durable per batch)."""
    return _stage_into(archive.files, archive.index, archive.replace_duplicates, path)


def _stage_into(files: FileStore, index: Index, replace: bool, path: Path) -> _Staged:
    try:
        header: Header
        if _is_part10(path):
            header, prefix = read_any_header(path), b""
        else:
            header, prefix = _raw_dataset_meta(path)
        size = path.stat().st_size + len(prefix)
        record = record_from_header(header, file_size=size, source_ae="")
        relative = FileStore.relative_path(record.study_uid, record.series_uid, record.sop_instance_uid)
        record.instance["path"] = relative
        if not replace and index.has_instance(record.sop_instance_uid):
            return _Staged(path, record)
        with path.open("rb") as source:
            # Not fsynced here: the group commit makes the batch durable with one flush.
            temporary = files.copy_to_temporary(source, prefix, sync=False)
        return _Staged(path, record, temporary)
    except TuiPacsError as exc:
        return _Staged(path, error=exc.message)
    except OSError as exc:
        return _Staged(path, error=f"unreadable ({exc.strerror or exc})")


# Header parsing holds the GIL; large imports stage files in worker processes (one per core).
_PROCESS_THRESHOLD = 256
_worker: tuple[FileStore, Index, bool] | None = None


def _init_worker(db_path: Path, store_root: Path, replace: bool) -> None:
    global _worker
    _worker = (FileStore(store_root), Index(db_path, store_root), replace)


def _stage_in_worker(path: Path) -> _Staged:
    assert _worker is not None
    return _stage_into(*_worker, path)


def _stage_pool(archive: Archive, count: int) -> Executor:
    cores = os.cpu_count() or 1
    if count >= _PROCESS_THRESHOLD and cores > 1:
        context = multiprocessing.get_context("forkserver")
        return ProcessPoolExecutor(max_workers=cores, mp_context=context, initializer=_init_worker,
                                   initargs=(archive.index.db_path, archive.files.root,
                                             archive.replace_duplicates))
    return ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="import")


def import_paths(archive: Archive, paths: Iterable[Path | str],
                 progress: Callable[[ImportProgress], None] | None = None) -> ImportReport:
    """Import everything under ``paths``; never raises for a bad file, only for a full disk."""
    report = ImportReport()
    files = discover((Path(p) for p in paths), report)
    total = len(files)
    done = 0
    with _stage_pool(archive, total) as pool:
        stage = _stage_in_worker if isinstance(pool, ProcessPoolExecutor) else partial(_stage, archive)
        for batch in _chunks(files, BATCH_SIZE):
            staged = list(pool.map(stage, batch, chunksize=8 if isinstance(pool, ProcessPoolExecutor) else 1))
            _commit_batch(archive, staged, report)
            done += len(batch)
            if progress is not None:
                progress(ImportProgress(done, total, str(batch[-1])))
    return report


def _chunks(items: list[Path], size: int) -> Iterator[list[Path]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _commit_batch(archive: Archive, staged: list[_Staged], report: ImportReport) -> None:
    ready: list[_Staged] = []
    seen_in_batch: set[str] = set()
    for item in staged:
        if item.error:
            report.failures.append((str(item.source), item.error))
            continue
        assert item.record is not None
        uid = item.record.sop_instance_uid
        if item.temporary is None or (uid in seen_in_batch and not archive.replace_duplicates):
            if item.temporary is not None:
                archive.files.discard(item.temporary)
            report.duplicates += 1
            continue
        seen_in_batch.add(uid)
        ready.append(item)
    if not ready:
        return
    try:
        archive.check_quota(sum(int(i.record.instance["file_size"]) for i in ready if i.record))
    except OutOfResources:
        for item in ready:
            if item.temporary is not None:
                archive.files.discard(item.temporary)
        raise
    # The received instances' group commit: renames, one flush, one index transaction.
    pending = [PendingInstance(i.temporary, i.record) for i in ready if i.temporary and i.record]
    archive.group.commit_all(pending)
    archive.forget_usage()
    full = next((p.error for p in pending if isinstance(p.error, OutOfResources)), None)
    if full is not None:
        raise full
    for item, result in zip(ready, pending, strict=True):
        assert item.record is not None
        outcome = result.outcome
        if outcome is None:
            error = result.error
            report.failures.append((str(item.source), error.message if isinstance(error, TuiPacsError)
                                    else f"not stored ({error})"))
            continue
        if outcome.old_path and outcome.old_path != item.record.instance["path"]:
            archive.files.remove(outcome.old_path)
        if outcome.inserted:
            report.imported += 1
            report.bytes += int(item.record.instance["file_size"])
            report.study_uids.add(item.record.study_uid)
        else:
            report.duplicates += 1
