"""Requests answered on the DUL thread (net/fastpath/reactor._Requests) keep pynetdicom's order.

The queue is given to a real, never connected pynetdicom association; the
paths are plain functions that record what they were asked to answer. No
network and no threads of pynetdicom's: what is checked is which requests
are answered at once (on the thread that puts them) and which are left,
in order, to the reactor.
"""

from __future__ import annotations

import threading
from io import BytesIO
from typing import Any

import pytest
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid
from pynetdicom import AE, _config
from pynetdicom.association import Association
from pynetdicom.dimse_primitives import C_ECHO, C_STORE
from pynetdicom.presentation import build_context
from pynetdicom.transport import AddressInformation

from tui_pacs.net.fastpath import reactor

CONTEXT_ID = 1


def association(monkeypatch: pytest.MonkeyPatch) -> Association:
    monkeypatch.setattr(_config, "LOG_HANDLER_LEVEL", "none")  # as the SCP runs (server.quiet_pynetdicom)
    assoc = Association(AE(ae_title="TEST"), "acceptor")
    context = build_context(SecondaryCaptureImageStorage, ExplicitVRLittleEndian)
    context.context_id = CONTEXT_ID
    assoc._accepted_cx = {CONTEXT_ID: context}
    assoc.is_established = True  # as an accepted association is once pynetdicom has run EVT_ACCEPTED
    return assoc


def store_request(message_id: int) -> C_STORE:
    request = C_STORE()
    request.MessageID = message_id
    request.AffectedSOPClassUID = SecondaryCaptureImageStorage
    request.AffectedSOPInstanceUID = generate_uid()
    request.Priority = 2
    request.DataSet = BytesIO(b"\x08\x00\x16\x00")  # as the store reader leaves it: the data set is on disk
    return request


def echo_request(message_id: int) -> C_ECHO:
    request = C_ECHO()
    request.MessageID = message_id
    request.AffectedSOPClassUID = "1.2.840.10008.1.1"
    return request


class Recorder:
    """An inline path: answers (or declines, or fails) and notes the message IDs and threads."""

    def __init__(self, answer: bool = True, fail: bool = False) -> None:
        self.answer, self.fail = answer, fail
        self.seen: list[tuple[int, int]] = []

    def __call__(self, assoc: Any, request: Any, context: Any) -> bool:
        assert context.context_id == CONTEXT_ID
        self.seen.append((int(request.MessageID), threading.get_ident()))
        if self.fail:
            raise RuntimeError("handler broke")
        return self.answer


def requests_queue(monkeypatch: pytest.MonkeyPatch, path: Recorder) -> tuple[reactor._Requests, threading.Event]:
    signal = threading.Event()
    return reactor._Requests(association(monkeypatch), signal, {C_STORE: path}), signal


def queued(requests: reactor._Requests) -> list[int]:
    return [int(requests.get_nowait()[1].MessageID) for _ in range(requests.qsize())]


def test_a_store_is_answered_at_once_on_the_putting_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    path = Recorder()
    requests, signal = requests_queue(monkeypatch, path)
    requests.put((CONTEXT_ID, store_request(1)))
    requests.put((CONTEXT_ID, store_request(2)))
    assert path.seen == [(1, threading.get_ident()), (2, threading.get_ident())]
    assert requests.answered_inline == 2
    assert requests.empty() and not signal.is_set()


def test_a_store_behind_an_unanswered_request_waits_for_the_reactor(monkeypatch: pytest.MonkeyPatch) -> None:
    path = Recorder()
    requests, signal = requests_queue(monkeypatch, path)
    requests.put((CONTEXT_ID, echo_request(1)))  # no inline path: the reactor's
    requests.put((CONTEXT_ID, store_request(2)))  # must not overtake the echo
    assert path.seen == [] and signal.is_set()
    assert queued(requests) == [1, 2]
    requests.served()  # the reactor has answered the echo ...
    requests.put((CONTEXT_ID, store_request(3)))  # ... but not yet the store behind it
    assert path.seen == [] and queued(requests) == [3]
    requests.served()
    requests.served()
    requests.put((CONTEXT_ID, store_request(4)))  # everything answered: at once again
    assert [message_id for message_id, _ in path.seen] == [4]


def test_a_declined_store_goes_to_the_reactor(monkeypatch: pytest.MonkeyPatch) -> None:
    path = Recorder(answer=False)
    requests, signal = requests_queue(monkeypatch, path)
    requests.put((CONTEXT_ID, store_request(1)))
    assert [message_id for message_id, _ in path.seen] == [1]
    assert queued(requests) == [1] and signal.is_set() and requests.answered_inline == 0


def test_a_store_read_before_the_association_is_established_goes_to_the_reactor(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """pynetdicom sends the A-ASSOCIATE-AC before it marks the association established; a
    request read in between is the reactor's, which answers it once it runs."""
    path = Recorder()
    requests, signal = requests_queue(monkeypatch, path)
    requests._assoc.is_established = False
    requests.put((CONTEXT_ID, store_request(1)))
    assert path.seen == [] and queued(requests) == [1] and signal.is_set()


def test_a_request_on_an_unknown_context_goes_to_the_reactor(monkeypatch: pytest.MonkeyPatch) -> None:
    path = Recorder()
    requests, _ = requests_queue(monkeypatch, path)
    requests.put((CONTEXT_ID + 2, store_request(1)))  # pynetdicom answers it with its own status
    assert path.seen == [] and queued(requests) == [1]


def test_a_failing_path_is_reported_to_the_reactor_and_nothing_more_is_answered(
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = Recorder(fail=True)
    requests, signal = requests_queue(monkeypatch, path)
    requests.put((CONTEXT_ID, store_request(1)))
    assert isinstance(requests.failed, RuntimeError) and signal.is_set()
    assert requests.empty()
    requests.put((CONTEXT_ID, store_request(2)))  # the association is being aborted
    assert [message_id for message_id, _ in path.seen] == [1] and queued(requests) == [2]


def test_the_network_timeout_does_not_run_while_a_request_is_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    """A slow flush on the DUL thread is not an idle peer: the reactor must not time the association out."""
    seen: list[bool] = []

    def slow_path(assoc: Any, request: Any, context: Any) -> bool:
        seen.append(reactor._ended(assoc, answering=requests.answering))
        return True

    requests, _ = requests_queue(monkeypatch, Recorder())
    requests._inline[C_STORE] = slow_path
    assoc = requests._assoc
    monkeypatch.setattr(assoc.acse, "is_release_requested", lambda: False)  # no release or abort to look at
    monkeypatch.setattr(assoc.acse, "is_aborted", lambda: False)
    assoc.requestor.address_info = AddressInformation("127.0.0.1", 11112)
    monkeypatch.setattr(assoc.dul, "is_alive", lambda: True)
    monkeypatch.setattr(assoc.dul, "idle_timer_expired", lambda: True)  # the timeout has passed
    killed: list[bool] = []
    monkeypatch.setattr(assoc, "abort", lambda: killed.append(True))
    monkeypatch.setattr(assoc, "kill", lambda: killed.append(True))
    requests.put((CONTEXT_ID, store_request(1)))
    assert seen == [False] and killed == []
    assert reactor._ended(assoc, answering=requests.answering) and killed  # idle again: it ends
