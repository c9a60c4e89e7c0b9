"""What the index learns from one instance's header, level by level.

Values are Unicode (decoded with the Specific Character Set by pydicom),
dates and times normalised so that range matching can compare text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


@dataclass(frozen=True)
class InstanceRecord:
    """The rows one instance contributes, as column -> value per table.

    ``path`` is relative to the store root; ``patient``, ``study``,
    ``series`` and ``instance`` hold the index columns of each level.
    """

    patient: dict[str, Any]
    study: dict[str, Any]
    series: dict[str, Any]
    instance: dict[str, Any] = field(default_factory=dict)

    @property
    def sop_instance_uid(self) -> str:
        return str(self.instance["sop_uid"])

    @property
    def sop_class_uid(self) -> str:
        return str(self.instance["sop_class_uid"])

    @property
    def study_uid(self) -> str:
        return str(self.study["study_uid"])

    @property
    def series_uid(self) -> str:
        return str(self.series["series_uid"])

    @property
    def transfer_syntax(self) -> str:
        return str(self.instance["transfer_syntax"])


class StoreWarning(NamedTuple):
    """Why an instance was stored with a C-STORE warning status (PS3.4 B.2.3)."""

    status: int
    """0xB000 coercion of data elements, 0xB006 elements discarded, 0xB007 data set does not match."""
    comment: str
    """What happened, short enough for the response's Error Comment (64 characters)."""


@dataclass(frozen=True)
class StoredInstance:
    """The outcome of putting an instance into the archive."""

    record: InstanceRecord
    path: str
    duplicate: bool = False
    replaced: bool = False
    warnings: tuple[StoreWarning, ...] = ()
