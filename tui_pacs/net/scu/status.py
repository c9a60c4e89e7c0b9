"""DIMSE status codes as our SCU reads them (PS3.7 Annex C, PS3.4 B.2.3 and C.4).

The C-STORE rules follow the DBx conformance statement: the three warnings
(B000 coercion, B006 elements discarded, B007 data set does not match SOP
class) count as stored, with the status logged; every other non-success
status is a refusal that ends the association and fails the job.
"""

from __future__ import annotations

SUCCESS = 0x0000
CANCEL = 0xFE00
PENDING = (0xFF00, 0xFF01)
STORE_WARNINGS = {
    0xB000: "coercion of data elements",
    0xB006: "elements discarded",
    0xB007: "data set does not match SOP class",
}
_NAMES = {
    0x0107: "attribute list error",
    0x0110: "processing failure",
    0x0111: "duplicate SOP instance",
    0x0117: "invalid object instance",
    0x0122: "SOP class not supported",
    0x0124: "not authorised",
    0x0211: "unrecognised operation",
    0x0212: "mistyped argument",
    0xA701: "out of resources: unable to calculate number of matches",
    0xA702: "out of resources: unable to perform sub-operations",
    0xA801: "move destination unknown",
    0xA900: "data set or identifier does not match SOP class",
    0xB000: "sub-operations complete, one or more failures or warnings",
    0xC000: "unable to process",
    0xFE00: "cancelled",
}


def describe(status: int) -> str:
    """``0xA700`` -> ``"0xA700 (out of resources)"``: the reason shown to the user."""
    if status in STORE_WARNINGS:
        text = STORE_WARNINGS[status]
    elif status in _NAMES:
        text = _NAMES[status]
    elif 0xA700 <= status <= 0xA7FF:
        text = "out of resources"
    elif 0xA900 <= status <= 0xA9FF:
        text = "data set does not match SOP class"
    elif 0xC000 <= status <= 0xCFFF:
        text = "cannot understand"
    else:
        text = "unknown status"
    return f"0x{status:04X} ({text})"


def is_pending(status: int) -> bool:
    return status in PENDING
