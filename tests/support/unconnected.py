"""A pynetdicom association that is never connected, for feeding its DIMSE layer by hand.

The fast-path tests give a real association's DIMSE provider encoded P-DATA
(or take what it would send) without a peer: no DUL thread, no socket.
pynetdicom's message-dumping handlers are unbound, as our SCP and SCU run
it; with them bound every message is left to pynetdicom so they see it.
"""

from __future__ import annotations

import pytest
from pydicom.uid import ExplicitVRLittleEndian
from pynetdicom import AE, _config
from pynetdicom.association import Association
from pynetdicom.presentation import build_context


def unconnected_association(monkeypatch: pytest.MonkeyPatch, mode: str, sop_class: str,
                            context_id: int) -> Association:
    """An association in ``mode`` ("acceptor" or "requestor") with one accepted context,
    ``sop_class`` in Explicit VR Little Endian under ``context_id``."""
    monkeypatch.setattr(_config, "LOG_HANDLER_LEVEL", "none")
    assoc = Association(AE(ae_title="TEST"), mode)
    context = build_context(sop_class, ExplicitVRLittleEndian)
    context.context_id = context_id
    assoc._accepted_cx = {context_id: context}
    return assoc
