"""UID and AE title validation: the gate for every name that came from a wire or a file.

Names from outside are validated here before they touch a path, an SQL
statement or a log line (PS3.5 9.1 for UIDs, PS3.5 6.2 for AE titles).
"""

from __future__ import annotations

import re

from tui_pacs.domain.errors import InvalidAETitle, InvalidUID

# PS3.5 9.1: components of digits separated by dots, at most 64 characters.
# Leading zeros are illegal in the standard but common in the wild; they are
# harmless for paths and SQL, so they are accepted.
_UID_RE = re.compile(r"[0-9]+(?:\.[0-9]+)*")
UID_MAX_LENGTH = 64

# PS3.5 6.2: AE is up to 16 characters of the default repertoire, no backslash,
# no control characters; leading and trailing spaces are not significant.
_AE_RE = re.compile(r"[\x20-\x5b\x5d-\x7e]{1,16}")
AE_MAX_LENGTH = 16


def is_valid_uid(value: object) -> bool:
    """True when ``value`` is a string that is a well-formed UID."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= UID_MAX_LENGTH
        and _UID_RE.fullmatch(value) is not None
    )


def require_uid(value: object, what: str = "UID") -> str:
    """Return ``value`` if it is a valid UID, otherwise raise :class:`InvalidUID`.

    The message quotes at most a safe, printable prefix of the bad value so
    that hostile input cannot forge log lines.
    """
    if isinstance(value, str):
        value = value.rstrip("\x00 ")
    if value is None or value == "":
        raise InvalidUID(f"no {what}")
    if not is_valid_uid(value):
        raise InvalidUID(f"{what} {printable(value)} is not a valid UID")
    assert isinstance(value, str)
    return value


def normalise_ae_title(value: object) -> str:
    """Strip insignificant spaces and validate an AE title; raise on anything else."""
    if isinstance(value, bytes):
        try:
            value = value.decode("ascii")
        except UnicodeDecodeError:
            raise InvalidAETitle(f"AE title {printable(value)} is not ASCII") from None
    if not isinstance(value, str):
        raise InvalidAETitle(f"AE title {printable(value)} is not text")
    stripped = value.strip(" \x00")
    if not stripped or _AE_RE.fullmatch(stripped) is None:
        raise InvalidAETitle(
            f"AE title {printable(value)} must be 1-16 printable ASCII characters without '\\'"
        )
    return stripped


def is_valid_ae_title(value: object) -> bool:
    """True when ``value`` normalises to a valid AE title."""
    try:
        normalise_ae_title(value)
    except InvalidAETitle:
        return False
    return True


def printable(value: object, limit: int = 70) -> str:
    """A quoted, single-line, length-limited rendering of untrusted input for messages."""
    text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in text)
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 3] + "..."
    return repr(cleaned)
