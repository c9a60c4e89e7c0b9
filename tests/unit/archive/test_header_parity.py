"""The fast header reader gives the same index record as the pydicom one, file for file.

:mod:`tui_pacs.store.header` decodes the indexed attributes from raw bytes
instead of through pydicom data sets (the SCP's hot path). Every file
pydicom ships, every charset file and our sample data must come out the
same both ways, or queries would depend on how an instance arrived.
"""

from __future__ import annotations

from pathlib import Path

import pydicom.data
import pytest

from tui_pacs.store.errors import NotDicom
from tui_pacs.store.extract import (
    KEPT_TAGS,
    read_any_header,
    read_header,
    record_from_dataset,
    record_from_header,
)
from tui_pacs.store.header import RawHeader, read_raw_header
from tui_pacs.store.records import InstanceRecord

PYDICOM_FILES = Path(pydicom.data.__file__).parent
SAMPLE_DATA = Path(__file__).resolve().parents[3] / "sample_data"
CORPUS = sorted({*PYDICOM_FILES.glob("test_files/**/*.dcm"), *PYDICOM_FILES.glob("charset_files/*.dcm"),
                 *SAMPLE_DATA.rglob("*.dcm")})


def _reference(path: Path) -> InstanceRecord | None:
    try:
        return record_from_dataset(read_header(path), received_at="T")
    except NotDicom:
        return None


def _is_part10(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(132)[128:132] == b"DICM"


def test_corpus_is_large() -> None:
    assert len(CORPUS) > 100
    assert any(p.parent.name == "charset_files" for p in CORPUS)
    assert any(SAMPLE_DATA in p.parents for p in CORPUS)


def test_the_walk_reads_nearly_every_readable_file() -> None:
    """The fast path must be the usual path, not a fallback that hides behind pydicom."""
    readable = [p for p in CORPUS if _is_part10(p) and _reference(p) is not None]
    walked = [p for p in readable if read_raw_header(p, KEPT_TAGS) is not None]
    assert len(walked) >= 0.95 * len(readable), sorted(set(readable) - set(walked))


@pytest.mark.parametrize("path", [p for p in CORPUS if _is_part10(p)],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_same_record_both_ways(path: Path) -> None:
    reference = _reference(path)
    raw = read_raw_header(path, KEPT_TAGS)
    if reference is None:
        return  # pydicom refuses it; read_any_header then refuses it too (below)
    assert raw is not None or read_any_header(path) is not None
    fast = record_from_header(read_any_header(path), received_at="T")
    for table in ("patient", "study", "series", "instance"):
        assert getattr(fast, table) == getattr(reference, table), f"{path.name}: {table} differs"


def test_refused_both_ways() -> None:
    refused = [p for p in CORPUS if _is_part10(p) and _reference(p) is None]
    for path in refused:
        with pytest.raises(NotDicom):
            record_from_header(read_any_header(path))


def test_big_endian_binary_integers() -> None:
    header = RawHeader({0x00280010: (b"US", b"\x02\x00")}, little=False, transfer_syntax="1.2.840.10008.1.2.2")
    assert header.integer("Rows") == 512


def test_multi_valued_and_padded_text() -> None:
    header = RawHeader({0x00080005: (b"CS", b"ISO_IR 100"), 0x00101000: (b"LO", b"A1\\B\xe92 "),
                        0x00200013: (b"IS", b" 7.0"), 0x00100010: (b"PN", b"M\xfcller^Hans ")},
                       little=True, transfer_syntax="1.2.840.10008.1.2.1")
    assert header.text("OtherPatientIDs") == "A1\\Bé2"
    assert header.integer("InstanceNumber") == 7
    assert header.text("PatientName") == "Müller^Hans"
    assert header.text("StudyDate") == ""
    assert header.get("StudyDate", "absent") == "absent"


@pytest.mark.parametrize("raw", [b"Doe^John ", b" Doe^John", b"Doe^John\0", b"A^B\\C^D ", b" A\\B ",
                                 b"Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B", b"Doe^John==", b"", b"  ",
                                 b"=Y^Z", b"A==B", b"Doe^John=\\X^Y=", b"=", b"A^B =", b"M\xfcller^Hans\\X"])
@pytest.mark.parametrize("charset", [b"", b"ISO_IR 100", b"ISO_IR 192", b"\\ISO 2022 IR 87"])
def test_person_names_as_pydicom_reads_them(raw: bytes, charset: bytes) -> None:
    """ASCII names take a short cut past pydicom's PersonName; the text must not change."""
    from pydicom.multival import MultiValue
    from pydicom.values import convert_PN

    values = {0x00100010: (b"PN", raw)}
    if charset:
        values[0x00080005] = (b"CS", charset)
    header = RawHeader(values, little=True, transfer_syntax="1.2.840.10008.1.2.1")
    reference = convert_PN(raw, header.encodings())
    multiple = isinstance(reference, MultiValue)
    expected = "\\".join(str(v) for v in reference) if multiple else str(reference).strip()
    assert header.text("PatientName") == expected


def test_the_walk_reads_bytes_in_memory_as_it_reads_the_file() -> None:
    """A small received data set is walked from the bytes just written (``content``), not the file."""
    from tui_pacs.store.walk import survey

    walked = 0
    for path in (p for p in CORPUS if _is_part10(p)):
        from_file = survey(path, None, (0x00020010,), keep=KEPT_TAGS)
        assert survey(path.read_bytes(), None, (0x00020010,), keep=KEPT_TAGS) == from_file, path
        walked += from_file is not None
    assert walked > 100
