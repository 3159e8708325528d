"""A lock on an output folder, so concurrent runs into one ``--out`` take turns.

:func:`folder_lock` holds an exclusive ``fcntl.flock`` on ``FOLDER/.lock`` (created if needed)
for the duration of a ``with`` block; a second process asking for it waits (saying so once on
stderr, with the holder's pid) until the first releases it, then runs with the first's finished
work already in the folder. The OS drops the lock when its holder dies, so a killed run never
leaves the folder locked.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import time
from pathlib import Path

LOCK_NAME = ".lock"


@contextlib.contextmanager
def folder_lock(folder, timeout: float | None = None, stream=None):
    """Hold the exclusive lock of ``folder`` (waiting for it); TimeoutError after ``timeout`` s.

    Examples
    --------
    >>> import tempfile
    >>> with folder_lock(tempfile.mkdtemp()) as path:
    ...     path.name
    '.lock'
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        start, told = time.monotonic(), False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told:
                    holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
                    print(f"waiting for another run writing to {folder} (pid {holder}) to finish",
                          file=sys.stderr if stream is None else stream)
                    told = True
                if timeout is not None and time.monotonic() - start > timeout:
                    raise TimeoutError(f"{folder} is locked by another run (pid {holder})") from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the flock
