"""Instances that arrive on our SCU associations (C-GET sub-operations, the C-MOVE receiver).

They go to the archive by the archive's one rule (fsynced file, committed
row, then the response), and the status we answer follows PS3.4 B.2.3:
A700 when out of resources, C000 when the data set cannot be understood.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui_pacs.net.scp.chunked import received_file, release_received_file
from tui_pacs.store.archive import Archive
from tui_pacs.store.errors import OutOfResources, StoreError

log = logging.getLogger(__name__)


@dataclass
class ReceivedCounts:
    """What arrived, counted across the association threads that deliver it."""

    stored: int = 0
    duplicates: int = 0
    refused: int = 0
    bytes: int = 0
    study_uids: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def store_received(archive: Archive, event: Any, source_ae: str, counts: ReceivedCounts) -> int:
    """Write one received C-STORE data set to the archive; return the C-STORE status."""
    try:
        return _store(archive, event, source_ae, counts)
    finally:
        # A C-GET's sub-operations reach us through pynetdicom's requestor side, which, unlike
        # its Storage SCP, leaves the chunked-receive file open (and, on failure, in place).
        release_received_file(event.request)


def _store(archive: Archive, event: Any, source_ae: str, counts: ReceivedCounts) -> int:
    try:
        # With chunked receive on in this process (an SCP runs beside us), the data set is in a
        # Part 10 temporary file, or in memory if small; otherwise in memory. The archive writes
        # what is in memory under its final name, and flushes it either way.
        received = received_file(event, in_memory=True)
        source: Path | bytes
        if received is None:
            data = event.encoded_dataset()  # preamble, file meta and the data set as sent
            source, size = data, len(data)
        else:
            source, size = received.source, received.size
        stored = archive.ingest_file(source, source_ae=source_ae, size=size)
    except OutOfResources as exc:
        log.error("refused an instance from %s: %s", source_ae, exc)
        status = 0xA700
    except StoreError as exc:
        log.error("refused an instance from %s: %s", source_ae, exc)
        status = 0xC000
    except Exception:  # a handler must answer; pynetdicom would send C000 with less detail
        log.exception("failed to store an instance from %s", source_ae)
        status = 0xC000
    else:
        with counts.lock:
            counts.stored += 1
            counts.bytes += size
            counts.duplicates += int(stored.duplicate)
            counts.study_uids.add(stored.record.study_uid)
        return 0x0000
    with counts.lock:
        counts.refused += 1
    return status
