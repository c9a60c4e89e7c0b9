"""The received_at timestamp: ISO 8601 UTC with microseconds, and the current time."""

import re
from datetime import UTC, datetime, timedelta

from tui_pacs.store import extract


def test_utc_now_is_iso_8601_utc_with_microseconds() -> None:
    before = datetime.now(UTC)
    stamps = [extract.utc_now() for _ in range(1000)]
    after = datetime.now(UTC)
    for stamp in stamps:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", stamp), stamp
        moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        assert before - timedelta(microseconds=1) <= moment <= after + timedelta(microseconds=1)
    assert stamps == sorted(stamps)


def test_utc_now_formats_a_new_second(monkeypatch) -> None:
    """The cached text of one second is never given for another."""
    times = iter([1_000_000_000.25, 1_000_000_000.5, 1_000_000_001.000002, 1_800_000_000.999999])
    monkeypatch.setattr(extract.time, "time", lambda: next(times))
    assert extract.utc_now() == "2001-09-09T01:46:40.250000Z"
    assert extract.utc_now() == "2001-09-09T01:46:40.500000Z"
    assert extract.utc_now() == "2001-09-09T01:46:41.000002Z"
    assert extract.utc_now() == "2027-01-15T08:00:00.999999Z"
