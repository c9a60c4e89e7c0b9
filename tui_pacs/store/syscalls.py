"""The two Linux calls the file store wants and Python's ``os`` lacks: syncfs(2) and renameat2(2).

Both are looked up in libc on first use (no work at import time); where one
is missing (not Linux, an old libc) or the filesystem refuses it, the caller
is told so and takes the portable way.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import functools
import os
from pathlib import Path
from typing import Any

AT_FDCWD = -100
RENAME_NOREPLACE = 1


def _libc_function(name: str, *argtypes: Any) -> Any:
    """``name`` from libc with its argument types, or None where there is none."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        function = getattr(libc, name)
    except (OSError, AttributeError):
        return None
    function.argtypes = list(argtypes)
    function.restype = ctypes.c_int
    return function


@functools.cache
def _syncfs() -> Any:
    return _libc_function("syncfs", ctypes.c_int)


@functools.cache
def _renameat2() -> Any:
    return _libc_function("renameat2", ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint)


def syncfs(fd: int) -> bool:
    """Flush the whole filesystem holding ``fd``: one flush for a batch of files and their
    directories. False where there is no syncfs; OSError when the flush failed."""
    function = _syncfs()
    if function is None:
        return False
    if function(fd) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return True


_noreplace_works = True


def rename_noreplace(source: Path, target: Path) -> bool:
    """Rename ``source`` to ``target`` unless ``target`` exists; False (nothing done) if it does.

    One renameat2(RENAME_NOREPLACE) where the system has it: the question
    (is the name taken?) and the move in one call, with no window between
    them. Elsewhere a look and a rename. Raises OSError for anything else
    (FileNotFoundError when ``target``'s directory is missing).
    """
    global _noreplace_works
    function = _renameat2()
    if function is not None and _noreplace_works:
        if function(AT_FDCWD, os.fsencode(source), AT_FDCWD, os.fsencode(target), RENAME_NOREPLACE) == 0:
            return True
        code = ctypes.get_errno()
        if code == errno.EEXIST:
            return False
        if code not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
            raise OSError(code, os.strerror(code), str(source), None, str(target))
        _noreplace_works = False  # a filesystem (or kernel) without the flag: the portable way from now on
    if os.path.lexists(target):
        return False
    os.rename(source, target)
    return True
