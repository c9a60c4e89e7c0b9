"""What every SCP handler shares: the archive, the config, the event callback, peer identity.

Names from the wire (AE titles) are validated here before they reach a log
line, a query or an event (PS3.5 6.2); an invalid one is shown quoted and
made printable, never raw.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tui_pacs.config.model import Config, RemoteNode
from tui_pacs.domain.events import Event, EventCallback, ignore_event
from tui_pacs.domain.uids import is_valid_ae_title, normalise_ae_title, printable
from tui_pacs.store.archive import Archive

log = logging.getLogger(__name__)

_ASSOCIATION_IDS = itertools.count(1)
_ID_ATTRIBUTE = "_tui_pacs_id"


@dataclass
class ScpContext:
    """The state the SCP handlers are bound to (one per running server)."""

    archive: Archive
    config: Config
    report: EventCallback = ignore_event
    ae_title: str = ""
    nodes_source: Callable[[], Config] | None = None
    """The configuration as it is now, for a server that outlives edits of its config file
    (``tui-pacs nodes add`` while ``serve`` runs): asked for before the access policy and
    C-MOVE destinations are looked up. None: :attr:`config` as given."""
    stats: dict[str, int] = field(default_factory=lambda: {"stored": 0, "refused": 0, "rejected": 0,
                                                           "accepted": 0, "finds": 0, "moves": 0,
                                                           "gets": 0})

    def __post_init__(self) -> None:
        if not self.ae_title:
            self.ae_title = self.config.local.ae_title

    def emit(self, event: Event) -> None:
        """Report an event; a failing callback must never break an association."""
        try:
            self.report(event)
        except Exception:  # pragma: no cover - defensive: the bus is ours
            log.exception("event callback failed for %s", event.kind)

    def count(self, name: str) -> None:
        self.stats[name] = self.stats.get(name, 0) + 1

    def current_config(self) -> Config:
        """:attr:`config`, refreshed from :attr:`nodes_source`; the last good one if that fails."""
        if self.nodes_source is not None:
            try:
                self.config = self.nodes_source()
            except Exception as exc:  # noqa: BLE001 - a broken file must not stop the server serving
                log.warning("keeping the nodes as they were: %s", exc)
        return self.config

    def node_for_ae(self, ae_title: str) -> RemoteNode | None:
        """The configured node with this AE title (the first, if several share it)."""
        for node in self.current_config().nodes.values():
            if node.ae_title == ae_title:
                return node
        return None


@dataclass(frozen=True)
class Peer:
    """Who is on the other end of an association, safe to log."""

    ae_title: str
    address: str
    port: int
    valid_ae: bool = True

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.address}:{self.port}"


def answers_fast(handler: Any) -> Any:
    """Mark an EVT_C_STORE handler that needs of its event only ``assoc``, ``request`` and
    ``context`` (the data set in a chunked-receive file), so the fast path
    (:func:`tui_pacs.net.scp.fast.fast_c_store`) may call it in pynetdicom's stead."""
    handler.answers_fast = True
    return handler


def association_id(assoc: Any) -> int:
    """A small per-process number naming an association in events and logs."""
    value = getattr(assoc, _ID_ATTRIBUTE, None)
    if value is None:
        value = next(_ASSOCIATION_IDS)
        setattr(assoc, _ID_ATTRIBUTE, value)
    return int(value)


def safe_ae(value: object) -> tuple[str, bool]:
    """(display form, valid) of an AE title from the wire."""
    if is_valid_ae_title(value):
        return normalise_ae_title(value), True
    return printable(value, 24), False


def peer_of(assoc: Any) -> Peer:
    """The requestor of an accepted association (or the acceptor of a requested one)."""
    user = assoc.acceptor if assoc.is_requestor else assoc.requestor
    ae_title, valid = safe_ae(getattr(user, "ae_title", ""))
    address, port = "", 0
    try:
        address, port = str(user.address), int(user.port)
    except (AttributeError, TypeError, ValueError):
        pass
    return Peer(ae_title, address, port, valid)
