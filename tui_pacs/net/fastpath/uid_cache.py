"""The UIDs of association negotiation converted once per process, not once per association.

An A-ASSOCIATE-RQ from storescu proposes up to 128 presentation contexts;
pynetdicom turns every abstract and transfer syntax into a pydicom ``UID``
and validates it against regular expressions while it decodes the PDU,
builds the primitive and negotiates: about 600 ``set_uid`` calls and 260
``UID(...)`` per association, most of them given a ``UID`` already. The
same few hundred UIDs come back with every association, so the
negotiation modules get a ``set_uid`` and the presentation module a
``UID`` that remember what they converted. Serve's CPU per one-instance
storescu association: 14.0-15.2 ms before, 11.5-12.5 ms remembering
strings only, 6.3-6.9 ms remembering ``UID`` objects too (a one-instance
storescu run: 22.9 ms -> 19.6-21.7 ms, Orthanc 16.9-18.1 ms in the same
runs of ``bench/bench_associations.py``).

Only conformant values are kept (a non-conformant one goes the long way
every time, and is logged every time as before), failures are never kept,
and the table is bounded, so a peer proposing fresh UIDs on every
association cannot grow it (threads may race past the bound by a few
entries; dict reads and writes are atomic, so nothing worse). The DIMSE messages' UIDs (one SOP Instance UID
per C-STORE) do not pass here: they are new every time.
"""

from __future__ import annotations

import importlib
from typing import Any

from pydicom.uid import UID
from pynetdicom import _config, presentation, utils

MAX_KEPT = 4096
"""Distinct UIDs kept: every syntax a peer may propose, many times over."""

NEGOTIATION_MODULES = ("pynetdicom.pdu_items", "pynetdicom.pdu_primitives", "pynetdicom.presentation")
"""The modules that convert the UIDs of A-ASSOCIATE PDUs and presentation contexts."""

_original = utils.set_uid


class ConformantUID(UID):
    """A kept UID: matched against pydicom's conformance pattern once, when it was kept.

    pynetdicom asks ``is_valid`` of every transfer syntax it adds to a
    presentation context, twice, and pydicom answers with a regular
    expression each time: about 480 matches per association from storescu.
    """

    is_valid = True  # type: ignore[assignment]  # pydicom's is a property that matches again


_kept: dict[tuple[Any, ...], UID] = {}


def set_uid(value: None | str | bytes | UID, name: str, allow_empty: bool = True,
            allow_none: bool = True, validate: bool = True) -> UID | None:
    """pynetdicom's ``set_uid``, answered from what was converted before when it can be."""
    text = _plain(value)
    if text is None:
        return _original(value, name, allow_empty, allow_none, validate)
    key = (text, allow_empty, validate, _config.ENFORCE_UID_CONFORMANCE)
    kept = _kept.get(key)
    if kept is not None:
        return kept
    uid = _original(value, name, allow_empty, allow_none, validate)
    if uid and uid.is_valid and len(_kept) < MAX_KEPT:
        uid = _kept[key] = ConformantUID(uid)
    return uid


def kept_uid(value: str, validation_mode: int | None = None) -> UID:
    """pydicom's ``UID(value)`` for the presentation module (it builds one for every transfer
    syntax it adds to a context), answered from what was converted before when it can be."""
    text = _plain(value)
    if text is None or text.__class__ is bytes or validation_mode is not None:
        return UID(value, validation_mode)  # as pydicom answers (a TypeError for bytes)
    key = (text, "UID")
    kept = _kept.get(key)
    if kept is not None:
        return kept
    uid = UID(value)
    if uid == text and uid.is_valid and len(_kept) < MAX_KEPT:  # padded text is warned about every time
        uid = _kept[key] = ConformantUID(uid)
    return uid


def _plain(value: object) -> str | bytes | None:
    """The text of a str, bytes or UID that a kept conversion may stand for; None for anything
    else, and for a UID carrying a private transfer syntax's encoding (kept on the object)."""
    kind = value.__class__
    if kind is str or kind is bytes:
        return value  # type: ignore[return-value]
    if (kind is UID or kind is ConformantUID) and not hasattr(value, "_PRIVATE_TS_ENCODING"):
        return str.__str__(value)  # type: ignore[arg-type]
    return None


def install() -> None:
    """Give the negotiation modules the remembering ``set_uid``, and the presentation module the
    remembering ``UID`` (idempotent)."""
    for module_name in NEGOTIATION_MODULES:
        module = importlib.import_module(module_name)
        if getattr(module, "set_uid", None) is _original:
            module.set_uid = set_uid  # type: ignore[attr-defined]
    if presentation.UID is UID:
        presentation.UID = kept_uid  # type: ignore[assignment,misc]


def installed() -> bool:
    return (all(importlib.import_module(m).set_uid is set_uid for m in NEGOTIATION_MODULES)
            and presentation.UID is kept_uid)
