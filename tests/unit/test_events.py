"""Events are small frozen records that survive a JSON round trip."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tui_pacs.domain.events import (
    AssociationAccepted,
    AssociationRejected,
    Event,
    InstanceStored,
    JobProgress,
    LogRecorded,
    NegotiatedContext,
    QueryServed,
    event_kinds,
    from_json,
)

SAMPLES: list[Event] = [
    AssociationAccepted(association=3, peer_ae="STORESCU", address="127.0.0.1", port=40000,
                        called_ae="TUIPACS",
                        contexts=(NegotiatedContext("1.2.840.10008.1.1", "1.2.840.10008.1.2", False, True),)),
    AssociationRejected(association=4, peer_ae="X", address="::1", port=1, reason="unknown"),
    InstanceStored(sop_class_uid="1.2.3", sop_instance_uid="1.2.3.4", patient_name="Müller^Jürgen=山田"),
    JobProgress(job_id=1, remaining=None, message="ok"),
    JobProgress(job_id=2, remaining=5, state="failed"),
    LogRecorded(level="WARNING", message="disk full"),
    QueryServed(service="C-FIND", level="STUDY", matches=2),
]


@pytest.mark.parametrize("event", SAMPLES, ids=lambda e: e.kind)
def test_json_round_trip(event: Event) -> None:
    line = event.to_json()
    assert "\n" not in line
    assert json.loads(line)["kind"] == event.kind
    assert from_json(line) == event


def test_events_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        SAMPLES[0].peer_ae = "other"  # type: ignore[misc]


def test_unknown_kind_is_rejected() -> None:
    with pytest.raises(ValueError):
        from_json('{"kind": "nope"}')


def test_every_kind_is_registered_once() -> None:
    kinds = event_kinds()
    assert {"association.requested", "association.accepted", "association.rejected",
            "association.released", "association.aborted", "instance.stored", "job.progress",
            "log"} <= set(kinds)


def test_job_progress_finality() -> None:
    assert JobProgress(job_id=1, state="done").is_final
    assert not JobProgress(job_id=1).is_final


def test_description_shows_statuses_in_hex() -> None:
    line = QueryServed(service="C-MOVE", matches=4, completed=3, failed=1, status=0xB000).describe()
    assert line.startswith("query.served ") and "status=0xB000" in line and "failed=1" in line
