"""The gate for names from the wire: UIDs and AE titles."""

from __future__ import annotations

import pytest

from tui_pacs.domain.errors import InvalidAETitle, InvalidUID
from tui_pacs.domain.uids import is_valid_uid, normalise_ae_title, printable, require_uid


@pytest.mark.parametrize("uid", ["1.2.840.10008.1.2", "0", "1.2.3.04", "1" * 64])
def test_valid_uids(uid: str) -> None:
    assert is_valid_uid(uid)
    assert require_uid(uid) == uid


@pytest.mark.parametrize("uid", ["", ".", "1.", ".1", "1..2", "1.2.a", "1/2", "../1", "1" * 65, "1.2 3", None, 12])
def test_invalid_uids(uid: object) -> None:
    assert not is_valid_uid(uid)
    with pytest.raises(InvalidUID):
        require_uid(uid)


def test_uid_padding_from_the_wire_is_stripped() -> None:
    assert require_uid("1.2.3\x00") == "1.2.3"


@pytest.mark.parametrize("raw, expected", [("STORESCU", "STORESCU"), ("  PACS ", "PACS"), (b"ORTHANC ", "ORTHANC"),
                                            ("A" * 16, "A" * 16)])
def test_ae_titles(raw: object, expected: str) -> None:
    assert normalise_ae_title(raw) == expected


@pytest.mark.parametrize("raw", ["", "    ", "A" * 17, "BAD\\AE", "TAB\tAE", "NUL\x01", b"\xff\xfe", 5])
def test_bad_ae_titles(raw: object) -> None:
    with pytest.raises(InvalidAETitle):
        normalise_ae_title(raw)


def test_printable_neutralises_control_characters_and_length() -> None:
    text = printable("evil\nINFO forged line" + "x" * 100)
    assert "\n" not in text and len(text) <= 72
