"""pynetdicom's per-message log output on our SCU associations: formatted only when shown.

pynetdicom formats every C-FIND match (and every request identifier) for its
INFO log whether or not a logger shows it; :func:`quiet_pynetdicom` turns
that off, process-wide, unless the ``pynetdicom`` logger shows INFO, in
which case everything is logged as before.
"""

from __future__ import annotations

import logging

import pytest
from pynetdicom import AE, _config, evt
from pynetdicom.association import Association

from tui_pacs.net.scu.association import quiet_pynetdicom


@pytest.fixture(autouse=True)
def restored(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LOG_RESPONSE_IDENTIFIERS", "LOG_REQUEST_IDENTIFIERS", "LOG_HANDLER_LEVEL"):
        monkeypatch.setattr(_config, name, getattr(_config, name))
    monkeypatch.setattr(_config, "LOG_HANDLER_LEVEL", "standard")  # pynetdicom binds its dump handlers


def requested() -> Association:
    return Association(AE(ae_title="QUIET"), "requestor")


def test_quiet_when_pynetdicom_is_not_shown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="pynetdicom")
    assoc = requested()
    assert assoc.get_handlers(evt.EVT_PDU_RECV)
    quiet_pynetdicom(assoc)
    assert not _config.LOG_RESPONSE_IDENTIFIERS and not _config.LOG_REQUEST_IDENTIFIERS
    assert not assoc.get_handlers(evt.EVT_PDU_RECV)


def test_everything_logged_when_pynetdicom_is_shown(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="pynetdicom")
    _config.LOG_RESPONSE_IDENTIFIERS = _config.LOG_REQUEST_IDENTIFIERS = True
    assoc = requested()
    quiet_pynetdicom(assoc)
    assert _config.LOG_RESPONSE_IDENTIFIERS and _config.LOG_REQUEST_IDENTIFIERS
    assert assoc.get_handlers(evt.EVT_PDU_RECV)
