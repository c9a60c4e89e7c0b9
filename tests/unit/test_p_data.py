"""P-DATA-TF items split from raw bytes as pynetdicom's own PDU decoder splits them."""

from __future__ import annotations

import pytest
from pynetdicom.pdu import P_DATA_TF
from pynetdicom.pdu_primitives import P_DATA

from tui_pacs.net.fastpath.p_data import MalformedPData, presentation_data_values


def encoded(pdvs: list[list[object]]) -> bytes:
    primitive = P_DATA()
    primitive.presentation_data_value_list = pdvs
    pdu = P_DATA_TF()
    pdu.from_primitive(primitive)
    return bytes(pdu.encode())


@pytest.mark.parametrize("pdvs", [
    [[1, b"\x03" + b"command"]],
    [[1, b"\x03" + b"c" * 99], [1, b"\x02" + bytes(range(256)) * 40]],  # command and data set in one PDU
    [[5, b"\x00" + b"x" * 16_000], [7, b"\x02"]],  # a fragment, then an empty last fragment
])
def test_same_items_as_pynetdicom(pdvs: list[list[object]]) -> None:
    raw = encoded(pdvs)
    theirs = P_DATA_TF()
    theirs.decode(raw)
    expected = [[cid, bytes(value)] for cid, value in theirs.to_primitive().presentation_data_value_list]
    assert presentation_data_values(raw[6:]) == expected == [[cid, value] for cid, value in pdvs]
    primitive = P_DATA()
    primitive.presentation_data_value_list = presentation_data_values(raw[6:])  # pynetdicom accepts them


@pytest.mark.parametrize("body", [b"", b"\x00\x00\x00", b"\x00\x00\x00\x01\x01", b"\x00\x00\x00\x09\x01\x03abc"])
def test_malformed_items_are_refused(body: bytes) -> None:
    with pytest.raises(MalformedPData):
        presentation_data_values(body)
