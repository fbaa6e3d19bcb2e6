"""Files only their owner may read: the hospital's processed (de-identified) data, private keys.

A folder is made 0700 and a file 0600 whatever the umask and whatever mode an earlier copy had, and a
file is written atomically (a temporary file in the same folder, renamed into place; removed if the write
fails), so a crash never leaves half a file and a reader never sees one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def private_folder(path: Path) -> Path:
    """``path`` (and missing parents) as a folder readable by its owner only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)  # mkdir's mode is masked by the umask and leaves an existing folder as it was
    return path


def write_private(path: Path, data: bytes, *, replace: bool = True) -> None:
    """Write ``data`` to ``path`` with mode 0600, atomically. ``replace=False``: ``FileExistsError`` when
    ``path`` exists, checked and written in one step (no window in which another writer could slip in)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mkstemp: mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if path exists
            os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
