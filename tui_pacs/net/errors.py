"""Errors of the network layer: one line each, for people; the log keeps the detail.

Both the SCU side (``net/scu``) and the SCP side may raise these. The
``transient`` flag tells the transfer queue whether retrying later can help
(a peer that is down or aborted) or not (a refused instance, a rejected
association that names us as unknown).
"""

from __future__ import annotations

from tui_pacs.domain.errors import TuiPacsError


class NetError(TuiPacsError):
    """A DICOM network operation failed."""

    title = "Network error"
    transient = False


class ConnectionFailed(NetError):
    """The TCP connection to the peer could not be opened (refused, unreachable, timed out)."""

    title = "Connection failed"
    transient = True


class AssociationRejected(NetError):
    """The peer answered A-ASSOCIATE-RJ (PS3.8 9.3.4); permanent rejections are not retried."""

    title = "Association rejected"

    def __init__(self, message: str, *, permanent: bool = True) -> None:
        super().__init__(message)
        self.transient = not permanent


class PeerAborted(NetError):
    """The peer sent A-ABORT or closed the connection (PS3.8 7.3, 7.4)."""

    title = "Association aborted"
    transient = True


class DimseTimeout(NetError):
    """No DIMSE response arrived within the node's DIMSE timeout."""

    title = "Timed out"
    transient = True


class NoPresentationContext(NetError):
    """The peer accepted no presentation context we can use for an instance or a service."""

    title = "Not supported by the peer"


class StoreRefused(NetError):
    """A C-STORE answered with a failure status (PS3.4 B.2.3: A7xx, A9xx, Cxxx, ...)."""

    title = "Store refused"

    def __init__(self, message: str, *, status: int, sop_instance_uid: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.sop_instance_uid = sop_instance_uid
        # Out of resources (A7xx) may clear up; "cannot understand" will not.
        self.transient = 0xA700 <= status <= 0xA7FF


class OperationFailed(NetError):
    """A C-FIND, C-MOVE or C-GET ended with a failure status (PS3.4 C.4)."""

    title = "Operation failed"

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.transient = status is not None and 0xA700 <= status <= 0xA7FF


class Cancelled(NetError):
    """The operation was cancelled by the user."""

    title = "Cancelled"
