"""The final status a served C-MOVE or C-GET is reported with (PS3.4 C.4.2.1.5, C.4.3.1.5)."""

from __future__ import annotations

import pytest

from tui_pacs.net.fastpath.dimse import SubOperationCounts
from tui_pacs.net.scp.retrieve import Outcome, outcome_of


@pytest.mark.parametrize(("cancelled", "counts", "expected"), [
    (False, SubOperationCounts(4, 0, 0), Outcome(0x0000, SubOperationCounts(4, 0, 0))),
    (False, SubOperationCounts(3, 1, 0), Outcome(0xB000, SubOperationCounts(3, 1, 0))),
    (False, SubOperationCounts(3, 0, 1), Outcome(0xB000, SubOperationCounts(3, 0, 1))),  # a warning is reported too
    (False, SubOperationCounts(0, 4, 0), Outcome(0xA702, SubOperationCounts(0, 4, 0))),  # every one failed
    (True, SubOperationCounts(1, 1, 0), Outcome(0xFE00, SubOperationCounts(1, 1, 0))),
    (False, None, Outcome(0x0000)),  # no response seen (fast responses not installed)
    (True, None, Outcome(0xFE00)),
])
def test_outcome(cancelled: bool, counts: SubOperationCounts | None, expected: Outcome) -> None:
    assert outcome_of(cancelled, counts, 4) == expected
