"""The negotiation modules' remembering set_uid (net/fastpath/uid_cache.py)."""

from __future__ import annotations

import importlib

import pytest
from pydicom.uid import UID
from pynetdicom import presentation, utils

from tui_pacs.net.fastpath import uid_cache


@pytest.fixture(autouse=True)
def empty_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uid_cache, "_kept", {})


def test_installed_in_the_negotiation_modules_only() -> None:
    uid_cache.install()
    uid_cache.install()  # idempotent
    assert uid_cache.installed()
    for name in uid_cache.NEGOTIATION_MODULES:
        assert importlib.import_module(name).set_uid is uid_cache.set_uid
    # A C-STORE's SOP Instance UID is new every time: the DIMSE primitives convert theirs as before.
    assert importlib.import_module("pynetdicom.dimse_primitives").set_uid is utils.set_uid
    assert presentation.UID is uid_cache.kept_uid


def test_a_syntax_is_converted_once_and_equals_pynetdicoms() -> None:
    first = uid_cache.set_uid(b"1.2.840.10008.1.2.1", "transfer_syntax_name")
    again = uid_cache.set_uid(b"1.2.840.10008.1.2.1", "transfer_syntax_name")
    assert first is again
    assert first == utils.set_uid(b"1.2.840.10008.1.2.1", "transfer_syntax_name")
    assert uid_cache.set_uid("1.2.840.10008.1.2.1", "x") == first  # str and bytes both


def test_an_invalid_uid_still_fails_with_its_name_and_is_not_kept() -> None:
    too_long = "1." + "2" * 70
    for _ in range(2):
        with pytest.raises(ValueError, match="abstract_syntax"):
            uid_cache.set_uid(too_long, "abstract_syntax")
    assert uid_cache._kept == {}


def test_a_non_conformant_uid_goes_the_long_way_every_time() -> None:
    value = "1.2.03.4"  # a leading zero: accepted, but not conformant (logged each time)
    first = uid_cache.set_uid(value, "abstract_syntax")
    assert first == value and not first.is_valid
    assert uid_cache.set_uid(value, "abstract_syntax") is not first
    assert uid_cache._kept == {}


def test_none_passes_through() -> None:
    assert uid_cache.set_uid(None, "x") is None
    assert uid_cache._kept == {}


def test_uid_objects_are_answered_from_the_table_too() -> None:
    # Most of the negotiation's calls are given a UID already (decoded from the PDU, or a context's).
    uid = UID("1.2.840.10008.1.1")
    first = uid_cache.set_uid(uid, "abstract_syntax")
    assert first == uid and isinstance(first, UID)
    # Kept, it answers is_valid without pydicom's regular expression: it was matched once.
    assert type(first) is uid_cache.ConformantUID and first.is_valid and first.is_transfer_syntax is False
    assert uid_cache.set_uid(UID("1.2.840.10008.1.1"), "abstract_syntax") is first
    assert uid_cache.set_uid("1.2.840.10008.1.1", "abstract_syntax") is first  # a str of it too


def test_a_private_syntax_keeps_its_encoding() -> None:
    private = UID("1.2.3.4.5")
    private.set_private_encoding(False, True)
    for convert in (lambda: uid_cache.set_uid(private, "transfer_syntax_name"), lambda: uid_cache.kept_uid(private)):
        converted = convert()
        assert converted == private and converted.is_little_endian and not converted.is_implicit_VR
    assert uid_cache._kept == {}


def test_the_presentation_module_builds_its_uids_from_the_table() -> None:
    uid_cache.install()
    context = presentation.PresentationContext()
    context.abstract_syntax = "1.2.840.10008.5.1.4.1.1.2"
    context.add_transfer_syntax("1.2.840.10008.1.2.1")
    again = presentation.PresentationContext()
    again.add_transfer_syntax(UID("1.2.840.10008.1.2.1"))
    assert context.transfer_syntax[0] is again.transfer_syntax[0]
    assert context.transfer_syntax == ["1.2.840.10008.1.2.1"]
    with pytest.raises(ValueError, match="invalid UID"):  # pynetdicom's own check, as before
        again.add_transfer_syntax("1." + "2" * 70)


def test_kept_uid_answers_as_pydicom_does() -> None:
    first = uid_cache.kept_uid("1.2.840.10008.1.2.4.50")
    assert first == UID("1.2.840.10008.1.2.4.50") and first.is_transfer_syntax
    assert uid_cache.kept_uid("1.2.840.10008.1.2.4.50") is first
    with pytest.warns(UserWarning, match="Invalid value"):  # padded: stripped and warned about, every time
        assert uid_cache.kept_uid(" 1.2.840.10008.1.2.4.50 ") == first
    nonconformant = uid_cache.kept_uid("1.2.03.4")
    assert not nonconformant.is_valid and uid_cache.kept_uid("1.2.03.4") is not nonconformant
    with pytest.raises(TypeError):
        uid_cache.kept_uid(b"1.2.3")  # type: ignore[arg-type]
    assert set(uid_cache._kept) == {("1.2.840.10008.1.2.4.50", "UID")}


def test_the_table_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uid_cache, "MAX_KEPT", 3)
    for n in range(10):  # a peer proposing fresh UIDs on every association
        uid_cache.set_uid(f"1.2.3.{n + 1}", "abstract_syntax")
    assert len(uid_cache._kept) == 3
