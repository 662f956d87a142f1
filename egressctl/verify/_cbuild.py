"""Compile a small C helper of the verification hot paths at first use, once per source version.

Both C helpers (the capture engine and the live-watch ring walker) are built the same way: with the
system compiler into ``$XDG_CACHE_HOME/egressctl``, keyed by a hash of the source and the machine, written
atomically so concurrent first uses never load a half-written library. No compiler (or
``EGRESSCTL_NO_CC=1``) means None, and callers fall back to their exact Python/numpy paths.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path


def cache_dir() -> Path:
    """Where compiled helpers are kept (``$XDG_CACHE_HOME/egressctl`` or ``~/.cache/egressctl``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "egressctl"


def build(source: Path, stem: str) -> Path | None:
    """Return the shared library built from ``source`` (compiling it if needed), or None."""
    cc = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if os.environ.get("EGRESSCTL_NO_CC") or not cc:
        return None
    src = source.read_bytes()
    digest = hashlib.sha256(src + os.uname().machine.encode()).hexdigest()[:16]
    target = cache_dir() / f"{stem}_{digest}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".build-", suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        done = subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", tmp, str(source)], capture_output=True,
                              timeout=120, check=False)
        if done.returncode != 0:
            return None
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target
