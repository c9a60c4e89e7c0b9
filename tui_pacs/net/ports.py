"""Choosing a TCP port: sockets belong to net/, so the demo asks here for a free one."""

from __future__ import annotations

import socket


def free_loopback_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (the caller's SCP takes it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
