"""The configuration as typed, validated records.

Every field is documented because ``tui-pacs config show`` and the README
are generated from the same knowledge; defaults are what a PACS engineer
expects on first start.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from enum import Enum

from tui_pacs.domain.uids import AE_MAX_LENGTH

DEFAULT_PORT = 11112
DEFAULT_TLS_PORT = 2762


class RetrieveMethod(str, Enum):
    """How studies are pulled from a remote node."""

    MOVE = "move"
    GET = "get"


class DuplicatePolicy(str, Enum):
    """What to do when an instance with a known SOP Instance UID arrives again."""

    KEEP = "keep"  # keep the stored instance and report the duplicate
    REPLACE = "replace"  # store the new bytes in place of the old


class AccessPolicy(str, Enum):
    """Which calling AEs the SCP accepts."""

    ANY = "any"  # any calling AE title
    KNOWN = "known"  # only AE titles configured as nodes
    KNOWN_HOST = "known-host"  # only configured AE titles from their configured host


@dataclass(frozen=True)
class Timeouts:
    """Network timeouts in seconds (``None`` waits forever)."""

    artim: float = 30.0
    """ARTIM timer: how long to wait for an A-ASSOCIATE or A-RELEASE reply (PS3.8 9.1.5)."""
    acse: float = 30.0
    """How long to wait for association negotiation messages."""
    dimse: float = 60.0
    """How long to wait for a DIMSE response (C-STORE-RSP, C-FIND-RSP, ...)."""
    network: float = 60.0
    """How long an idle connection may stay silent before it is closed."""
    connect: float = 10.0
    """How long to wait for the TCP connection to a remote node."""


@dataclass(frozen=True)
class LocalNode:
    """This application entity."""

    ae_title: str
    """The AE title other nodes call us by (upper case, 1-16 characters)."""
    bind: str = "0.0.0.0"
    """Address the SCP listens on; 127.0.0.1 keeps it private to this machine."""
    port: int = DEFAULT_PORT
    """DICOM port; 104 is the standard one but needs root."""
    tls_port: int = DEFAULT_TLS_PORT
    """Port for DICOM over TLS (PS3.15 Basic/AES TLS profiles)."""
    max_associations: int = 50
    """Simultaneous associations the SCP accepts."""
    access: AccessPolicy = AccessPolicy.ANY
    """Which calling AEs are accepted: any, known, or known-host."""
    check_called_ae: bool = True
    """Reject associations whose called AE title is not ours."""
    timeouts: Timeouts = field(default_factory=Timeouts)


@dataclass(frozen=True)
class RemoteNode:
    """A remote DICOM node we talk to."""

    name: str
    """Our short name for the node (the ``[nodes.NAME]`` table)."""
    ae_title: str
    """Its AE title."""
    host: str
    """Its host name or address."""
    port: int
    """Its DICOM port."""
    tls: bool = False
    """Connect with TLS."""
    retrieve: RetrieveMethod = RetrieveMethod.MOVE
    """How to retrieve from it: C-MOVE to us, or C-GET."""
    timeouts: Timeouts = field(default_factory=Timeouts)
    """Per-node timeouts; the DBx statement configures ARTIM per remote AE."""
    note: str = ""
    """Free text, shown in the node list."""


@dataclass(frozen=True)
class ArchiveSettings:
    """How the local archive behaves."""

    duplicates: DuplicatePolicy = DuplicatePolicy.KEEP
    """keep: keep the stored instance and report; replace: overwrite it."""
    retention_days: int | None = None
    """Auto-delete studies received more than this many days ago (None: keep)."""
    quota_gb: float | None = None
    """Auto-delete oldest studies while the store exceeds this size (None: no quota)."""
    flush: str = "filesystem"
    """How a batch of received files is made durable: "filesystem" (one syncfs for the batch,
    the fastest on a disk of its own) or "files" (an fsync per file and directory, for a store
    that shares its filesystem with a busy neighbour, whose writes syncfs would wait for too)."""


@dataclass(frozen=True)
class Config:
    """The whole configuration file."""

    local: LocalNode
    nodes: dict[str, RemoteNode] = field(default_factory=dict)
    archive: ArchiveSettings = field(default_factory=ArchiveSettings)
    theme: str = "dark"
    """UI theme: dark, light or high-contrast."""
    graphics: str = "auto"
    """Image protocol: auto, kitty, sixel, iterm or blocks."""
    keymap: dict[str, str] = field(default_factory=dict)
    """Binding id to key(s), remapping the TUI's keys."""


def default_ae_title() -> str:
    """The host name, upper case, cut to 16 characters and cleaned to a valid AE title."""
    raw = socket.gethostname().split(".")[0].upper() or "TUIPACS"
    cleaned = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in raw)
    return (cleaned or "TUIPACS")[:AE_MAX_LENGTH]
