"""Load the C helpers built at install time, or say once per process that the slower exact path runs.

The capture engine and the watch's ring walker are optional extension modules (``setup.py``): the build
backend compiles them when a compiler is present, and an install without one still works. They hold no
Python functions; their C entry points are called through ctypes. Loading one means asking the import
system where that module's file is (inside the installed package, found through the package's own
``__path__``) and opening exactly that file. Nothing is compiled, and nothing is loaded from a cache or any
other user-writable place, at run time: a root process must not run what a user's environment points at.

When a helper is missing or does not match the Python side's layouts, callers use their numpy/Python path
(same results, slower) and this module logs one warning line for it, once per process.
"""

from __future__ import annotations

import ctypes
import importlib.machinery
import importlib.util
import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)
Check = Callable[[ctypes.CDLL], bool]

_LOADED: dict[str, ctypes.CDLL | None] = {}
_LOCK = threading.Lock()


def extension_path(module: str) -> str | None:
    """File of the built extension module ``module`` in this install, or None when there is none."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    if not isinstance(spec.loader, importlib.machinery.ExtensionFileLoader):
        return None  # only a compiled extension module of the package itself, never a stray file
    return spec.origin


def _open(module: str, check: Check) -> tuple[ctypes.CDLL | None, str]:
    path = extension_path(module)
    if path is None:
        return None, "is not built in this install (no C compiler at install time?)"
    try:
        lib = ctypes.CDLL(path)
    except OSError as exc:
        return None, f"cannot be loaded ({exc})"
    if not check(lib):
        return None, "does not match this version's record layouts (a stale build?)"
    return lib, ""


def load(module: str, what: str, fallback: str, check: Check) -> ctypes.CDLL | None:
    """The helper ``module`` (checked by ``check``), or None after one warning naming the ``fallback``.

    Args:
        module: import name of the extension, e.g. ``egressctl.verify.capture._engine``.
        what: what it is, for people (``the C capture engine``).
        fallback: what runs instead (``capture analysis runs the numpy path``).
        check: sets the C signatures and returns whether the library's layouts match Python's.
    """
    with _LOCK:
        if module not in _LOADED:
            lib, why = _open(module, check)
            if lib is None:
                log.warning("egressctl: %s (%s) %s; %s (same results, slower)", what, module, why, fallback)
            _LOADED[module] = lib
        return _LOADED[module]
