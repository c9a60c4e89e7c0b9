"""Live associations, htop-like: who is connected, which way, what they negotiated, how fast.

Built from bus events only (accepted, stored, released, aborted), so it
works the same embedded or attached. Closed associations linger a few
seconds (dimmed) so short ones are visible at all. A 1 s tick redraws
durations and rates; events only change the model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from tui_pacs.domain.events import (
    AssociationAborted,
    AssociationAccepted,
    AssociationEvent,
    AssociationRejected,
    AssociationReleased,
    Event,
    InstanceStored,
)

LINGER = 5.0


@dataclass
class LiveAssociation:
    association: int
    peer_ae: str
    address: str
    inbound: bool
    contexts: int
    started: float
    instances: int = 0
    bytes: int = 0
    state: str = "open"
    ended: float = 0.0
    services: str = ""
    """Short names of the negotiated abstract syntaxes (PS3.8 9.3.3.2), for the table."""

    def duration(self, now: float) -> float:
        return (self.ended or now) - self.started


def service_names(event: AssociationAccepted) -> str:
    """"Verification, CT Image" for the accepted contexts (UID names without the noise words)."""
    from pydicom.uid import UID

    names: list[str] = []
    for context in event.contexts:
        name = UID(context.abstract_syntax).name
        for noise in (" SOP Class", " Storage", " Information Model", "Query/Retrieve "):
            name = name.replace(noise, "")
        if name not in names:
            names.append(name)
    return ", ".join(names)


class AssociationTable(DataTable[Any]):
    """One row per association of this node."""

    COLUMNS = (("Peer AE", 16), ("Address", 21), ("Dir", 3), ("Ctx", 4), ("Inst", 5), ("MB", 7),
               ("MB/s", 6), ("Time", 6), ("State", 8), ("Contexts", 40))

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.live: dict[int, LiveAssociation] = {}

    def on_mount(self) -> None:
        for label, width in self.COLUMNS:
            self.add_column(label, key=label, width=width)
        self.set_interval(1.0, self.redraw)

    def record(self, event: Event) -> None:
        """Fold one event into the model (cheap; drawing waits for the tick)."""
        if isinstance(event, AssociationAccepted):
            self.live[event.association] = LiveAssociation(
                event.association, event.peer_ae, f"{event.address}:{event.port}", not event.requestor,
                len(event.contexts), event.at, services=service_names(event))
        elif isinstance(event, InstanceStored):
            entry = self.live.get(event.association)
            if entry is not None:
                entry.instances += 1
                entry.bytes += event.size
        elif isinstance(event, (AssociationReleased, AssociationAborted, AssociationRejected)):
            entry = self.live.get(event.association)
            if entry is None and isinstance(event, AssociationRejected):
                entry = LiveAssociation(event.association, event.peer_ae, f"{event.address}:{event.port}",
                                        not event.requestor, 0, event.at)
                self.live[event.association] = entry
            if entry is not None:
                entry.state = {AssociationReleased: "released", AssociationAborted: "aborted",
                               AssociationRejected: "rejected"}[type(event)]
                entry.ended = event.at

    def redraw(self) -> None:
        now = time.time()
        for key in [k for k, a in self.live.items() if a.ended and now - a.ended > LINGER]:
            del self.live[key]
        self.clear()
        for entry in sorted(self.live.values(), key=lambda a: a.started):
            seconds = max(entry.duration(now), 1e-3)
            style = "dim" if entry.ended else ("red" if entry.state != "open" else "")
            cells = [entry.peer_ae, entry.address, "in" if entry.inbound else "out", str(entry.contexts),
                     str(entry.instances), f"{entry.bytes / 1e6:.1f}", f"{entry.bytes / 1e6 / seconds:.1f}",
                     f"{int(seconds) // 60}:{int(seconds) % 60:02d}", entry.state, entry.services]
            self.add_row(*(Text(c, style=style) for c in cells), key=str(entry.association))

    @staticmethod
    def wants(event: Event) -> bool:
        return isinstance(event, (AssociationEvent, InstanceStored))
