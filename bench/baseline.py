"""An older Weir (any git revision) beside the working tree: importable as `weir_base`, or served.

Why: the benchmark machine is shared and noisy, so absolute figures from two runs minutes apart
do not compare. Timing the old and the new code alternately in one process does: both see the
same load, and the ratio holds. The revision's `src/weir` is extracted to a temporary folder,
renamed `weir_base`, and its own imports rewritten to match, so nothing of it touches `weir`
(`load`); or left as it is for a `weir serve` subprocess to run (`extract`).
"""

from __future__ import annotations

import atexit
import io
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_IMPORT = re.compile(r"^(\s*)(from|import)(\s+)weir(?=[\s.])", re.MULTILINE)


def extract(rev: str) -> tuple[str, Path]:
    """`src/weir` as of `rev` in a temporary folder: (short commit id, the folder's `src`)."""
    commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout.strip()
    archive = subprocess.run(["git", "archive", commit, "src/weir"], cwd=ROOT, check=True, capture_output=True).stdout
    dest = Path(tempfile.mkdtemp(prefix="weir-base-"))
    atexit.register(shutil.rmtree, dest, ignore_errors=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return commit, dest / "src"


def load(rev: str) -> str:
    """Make `import weir_base...` import `src/weir` as of `rev`; returns the commit id."""
    commit, src = extract(rev)
    pkg = src / "weir_base"
    (src / "weir").rename(pkg)
    for path in pkg.rglob("*.py"):
        path.write_text(_IMPORT.sub(r"\1\2\3weir_base", path.read_text()))
    sys.path.insert(0, str(src))
    return commit
