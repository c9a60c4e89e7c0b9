"""The UIDs of association negotiation converted once per process, not once per association.

An A-ASSOCIATE-RQ from storescu proposes up to 128 presentation contexts;
pynetdicom turns every abstract and transfer syntax into a pydicom ``UID``
and validates it against regular expressions while it decodes the PDU,
builds the primitive and negotiates: about 700 ``set_uid`` calls per
association. The same few hundred UIDs come back with every association,
so the negotiation modules get a ``set_uid`` that remembers what it
converted: serve's CPU per one-instance storescu association went from
14.0-15.2 ms to 11.5-12.5 ms (an association with Orthanc is still quicker
to set up: storescu sending one instance takes 27 ms against 19).

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
from pynetdicom import _config, utils

MAX_KEPT = 4096
"""Distinct UIDs kept: every syntax a peer may propose, many times over."""

NEGOTIATION_MODULES = ("pynetdicom.pdu_items", "pynetdicom.pdu_primitives", "pynetdicom.presentation")
"""The modules that convert the UIDs of A-ASSOCIATE PDUs and presentation contexts."""

_original = utils.set_uid
_kept: dict[tuple[Any, ...], UID] = {}


def set_uid(value: None | str | bytes | UID, name: str, allow_empty: bool = True,
            allow_none: bool = True, validate: bool = True) -> UID | None:
    """pynetdicom's ``set_uid``, answered from what was converted before when it can be."""
    if value.__class__ is not str and value.__class__ is not bytes:
        return _original(value, name, allow_empty, allow_none, validate)
    key = (value, allow_empty, validate, _config.ENFORCE_UID_CONFORMANCE)
    kept = _kept.get(key)
    if kept is not None:
        return kept
    uid = _original(value, name, allow_empty, allow_none, validate)
    if uid and uid.is_valid and len(_kept) < MAX_KEPT:
        _kept[key] = uid
    return uid


def install() -> None:
    """Give the negotiation modules the remembering ``set_uid`` (idempotent)."""
    for module_name in NEGOTIATION_MODULES:
        module = importlib.import_module(module_name)
        if getattr(module, "set_uid", None) is _original:
            module.set_uid = set_uid  # type: ignore[attr-defined]


def installed() -> bool:
    return all(importlib.import_module(m).set_uid is set_uid for m in NEGOTIATION_MODULES)
