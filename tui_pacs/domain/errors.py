"""The one error hierarchy of tui-pacs.

Every error a user can provoke with bad input, a failing peer or a full
disk is a :class:`TuiPacsError`. It carries a short ``title`` and a one-line
``message`` for people; the log keeps the detail (the ``__cause__``). Each
layer defines its own subclass so callers can tell where a failure arose.
"""

from __future__ import annotations


class TuiPacsError(Exception):
    """Base of every expected failure; never shown as a traceback."""

    title = "Error"

    def __init__(self, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if title is not None:
            self.title = title

    def __str__(self) -> str:
        return self.message


class DomainError(TuiPacsError):
    """A value breaks a DICOM rule (bad UID, bad AE title, bad query key)."""

    title = "Invalid value"


class InvalidUID(DomainError):
    """A UID that is not digits and dots, is empty or longer than 64 characters."""

    title = "Invalid UID"


class InvalidAETitle(DomainError):
    """An AE title that breaks PS3.5 AE rules."""

    title = "Invalid AE title"


class InvalidQuery(DomainError):
    """A query identifier with an unknown keyword or a malformed match value."""

    title = "Invalid query"
