"""One process at a time owns a data folder.

The metrics store holds this lock for its lifetime: its head lives in the process's memory,
so a second writer on the same folder would replay and flush the same log. `weir repair`
and `weir restore`, which replace files, take it too, so they never run under a server.
"""

from __future__ import annotations

import fcntl
from pathlib import Path
from typing import IO

from weir.errors import StorageError


def exclusive(path: Path) -> IO[str]:
    """Hold an exclusive lock on `path` (`<data-dir>/metrics.lock`) until the handle is closed."""
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.close()
        raise StorageError(
            f"{path.parent} is in use by another Weir process; stop it or choose another --data-dir"
        ) from None
    return handle
