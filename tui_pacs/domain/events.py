"""The events of the system: small frozen records that travel from threads to the loop.

The network threads (one per association, PS3.8 7.1) and the job workers
report what happens as :class:`Event` values through a plain callback
(``Callable[[Event], None]``); :mod:`tui_pacs.services.bus` carries them into
asyncio, ``serve`` logs them, and the control socket writes them as JSON
lines for an attached TUI. They are pure data: no I/O, no threads here.

Every event has a ``kind`` (its JSON tag) and ``at`` (seconds since the
epoch, set when created). Text that came from the wire (AE titles, patient
names) is carried as already-validated or display-only strings; the producer
is responsible for validating names before they go into an event.
"""

from __future__ import annotations

import json
import time
import types
import typing
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, TypeVar

EventT = TypeVar("EventT", bound="Event")

_REGISTRY: dict[str, type[Event]] = {}


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every event; subclasses register themselves under their ``kind``."""

    kind: ClassVar[str] = "event"
    at: float = field(default_factory=time.time)
    """When the event happened (seconds since the epoch, UTC)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind:
            _REGISTRY[kind] = cls

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able mapping with the ``kind`` tag first."""
        return {"kind": self.kind, **asdict(self)}

    def to_json(self) -> str:
        """One line of JSON (no newline) for the control socket and logs."""
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    def describe(self) -> str:
        """A one-line human summary for log output; DIMSE statuses in hex, as PS3.7 and every
        DICOM tool write them (B000, not 45056)."""
        parts = [f"{f.name}={_shown(f.name, getattr(self, f.name))}" for f in fields(self) if f.name != "at"]
        return f"{self.kind} " + " ".join(parts)


def _shown(name: str, value: Any) -> str:
    if name == "status" and isinstance(value, int) and not isinstance(value, bool):
        return f"0x{value:04X}"
    return str(value)


def event_from_dict(data: dict[str, Any]) -> Event:
    """Rebuild an event from :meth:`Event.to_dict` output; unknown kinds raise ValueError."""
    kind = data.get("kind")
    cls = _REGISTRY.get(str(kind))
    if cls is None:
        raise ValueError(f"unknown event kind {kind!r}")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in fields(cls):
        if f.name in data:
            values[f.name] = _decode(hints.get(f.name, Any), data[f.name])
    return cls(**values)


def from_json(line: str | bytes) -> Event:
    """Parse one JSON line produced by :meth:`Event.to_json`."""
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("an event is a JSON object")  # noqa: TRY004 - callers catch bad lines as ValueError, as json does
    return event_from_dict(data)


def _decode(hint: Any, value: Any) -> Any:
    """Undo what :func:`dataclasses.asdict` and JSON did: lists back to tuples, nested records."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _decode(options[0], value) if len(options) == 1 else value
    if origin is tuple and isinstance(value, list):
        args = typing.get_args(hint)
        item = args[0] if args else Any
        return tuple(_decode(item, v) for v in value)
    if isinstance(hint, type) and hasattr(hint, "__dataclass_fields__") and isinstance(value, dict):
        sub_hints = typing.get_type_hints(hint)
        return hint(**{k: _decode(sub_hints.get(k, Any), v) for k, v in value.items()})
    return value


# --- associations (PS3.8 7.1: A-ASSOCIATE, A-RELEASE, A-ABORT) -------------------------


@dataclass(frozen=True)
class NegotiatedContext:
    """One accepted presentation context (PS3.8 9.3.3.2)."""

    abstract_syntax: str
    transfer_syntax: str
    scu_role: bool = False
    scp_role: bool = False


@dataclass(frozen=True, kw_only=True)
class AssociationEvent(Event):
    """Common fields of association events; ``association`` is a per-process id."""

    association: int
    peer_ae: str
    address: str
    port: int
    called_ae: str = ""
    requestor: bool = False
    """True when we requested the association (SCU side), False when we accepted it."""


@dataclass(frozen=True, kw_only=True)
class AssociationRequested(AssociationEvent):
    kind: ClassVar[str] = "association.requested"


@dataclass(frozen=True, kw_only=True)
class AssociationAccepted(AssociationEvent):
    kind: ClassVar[str] = "association.accepted"
    contexts: tuple[NegotiatedContext, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AssociationRejected(AssociationEvent):
    kind: ClassVar[str] = "association.rejected"
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class AssociationReleased(AssociationEvent):
    kind: ClassVar[str] = "association.released"


@dataclass(frozen=True, kw_only=True)
class AssociationAborted(AssociationEvent):
    kind: ClassVar[str] = "association.aborted"
    reason: str = ""


# --- DIMSE services ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class InstanceStored(Event):
    """An instance was received and is durably stored and indexed (C-STORE Success/Warning)."""

    kind: ClassVar[str] = "instance.stored"
    association: int = 0
    source_ae: str = ""
    sop_class_uid: str
    sop_instance_uid: str
    transfer_syntax: str = ""
    patient_id: str = ""
    patient_name: str = ""
    study_uid: str = ""
    series_uid: str = ""
    modality: str = ""
    path: str = ""
    size: int = 0
    duplicate: bool = False
    status: int = 0


@dataclass(frozen=True, kw_only=True)
class InstanceRefused(Event):
    """A C-STORE was answered with a failure status; nothing was stored."""

    kind: ClassVar[str] = "instance.refused"
    association: int = 0
    source_ae: str = ""
    sop_instance_uid: str = ""
    status: int
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class QueryServed(Event):
    """A C-FIND, C-MOVE or C-GET request finished on the SCP side."""

    kind: ClassVar[str] = "query.served"
    association: int = 0
    peer_ae: str = ""
    service: str
    """C-FIND, C-MOVE or C-GET."""
    level: str = ""
    matches: int = 0
    completed: int = 0
    failed: int = 0
    warning: int = 0
    status: int = 0
    destination: str = ""
    cancelled: bool = False


# --- jobs (the transfer queue) ------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class JobProgress(Event):
    """A job changed state or advanced; floods of these are merged by the bus.

    ``state`` is one of queued, running, done, failed, cancelled.
    """

    kind: ClassVar[str] = "job.progress"
    job_id: int
    job_kind: str = ""
    state: str = "running"
    completed: int = 0
    failed: int = 0
    warning: int = 0
    remaining: int | None = None
    message: str = ""

    @property
    def is_final(self) -> bool:
        return self.state in ("done", "failed", "cancelled")


# --- the process -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LogRecorded(Event):
    """A log record worth showing in the live log pane."""

    kind: ClassVar[str] = "log"
    level: str
    logger: str = ""
    message: str


@dataclass(frozen=True, kw_only=True)
class ServerStarted(Event):
    kind: ClassVar[str] = "server.started"
    ae_title: str
    address: str
    port: int


@dataclass(frozen=True, kw_only=True)
class ServerStopped(Event):
    kind: ClassVar[str] = "server.stopped"
    ae_title: str = ""


EventCallback = Callable[[Event], None]
"""How threads report: a plain callable that must not block (the bus bridges it to asyncio)."""


def ignore_event(event: Event) -> None:
    """The do-nothing callback, for code run without a bus (tests, one-shot CLI)."""


def event_kinds() -> dict[str, type[Event]]:
    """Every registered event kind (for documentation and the UI's filters)."""
    return dict(_REGISTRY)
