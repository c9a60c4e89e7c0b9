"""What the index learns from one instance's header, level by level.

Values are Unicode (decoded with the Specific Character Set by pydicom),
dates and times normalised so that range matching can compare text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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


@dataclass(frozen=True)
class StoredInstance:
    """The outcome of putting an instance into the archive."""

    record: InstanceRecord
    path: str
    duplicate: bool = False
    replaced: bool = False
    warnings: tuple[str, ...] = ()
