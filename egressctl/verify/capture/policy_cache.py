"""Compiled capture policies cached in the state directory, keyed by the inventory's exact bytes.

Why: before ``verify --pcap`` reads a packet it used to parse the YAML, validate it with pydantic and
compile the site's policy, three quarters of a small check's time (and every TUI capture check is a new
process). A compiled policy is a pure function of the inventory's bytes (the loader reads no other file
and no environment) and of egressctl's own code, so one written for those bytes is exactly what a fresh
load would compute again.

The key is the SHA-256 of the inventory bytes and of a fingerprint of what else the result depends on:
egressctl's version, the size and modification time of every module of the package, and those of the
``site-packages`` directories (installing or removing a driver plugin, or upgrading pydantic, touches
them). Only an inventory that loaded without a single problem and whose platforms are all built in is
cached, so every inventory error is still found by the loader, every time.

Files are ``{state}/cache/capture-policy-<key>.json`` (``0600``, in a ``0700`` directory), at most
:data:`KEEP` of them. The tables decide what counts as a leak, so a file or directory that is not this
user's, or that others may write, is ignored; so is anything unreadable or malformed (a miss).
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import egressctl
from egressctl.verify.match_tables import Atom, FamilyTables
from egressctl.verify.matcher import CompiledPolicy

if TYPE_CHECKING:
    from egressctl.inventory.models import Site
    from egressctl.policy import Policy

FORMAT = 1
KEEP = 8
PREFIX = "capture-policy-"
_LISTS = ("inside_lo", "inside_hi", "bounds", "interval_class", "class_start", "class_len")


def fingerprint() -> bytes:
    """What a compiled policy depends on besides the inventory bytes (see the module docstring)."""
    parts = [f"format {FORMAT} egressctl {egressctl.__version__}"]
    package = Path(egressctl.__file__).parent
    for root, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith((".py", ".so")):
                parts.append(_stamp(os.path.join(root, name)))
    parts += [_stamp(p) for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    return "\n".join(parts).encode()


def _stamp(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return f"{path} -"
    return f"{path} {st.st_size} {st.st_mtime_ns}"


def key(raw: bytes) -> str:
    """The cache key of inventory bytes ``raw`` under this install."""
    h = hashlib.sha256(fingerprint())
    h.update(b"\0")
    h.update(raw)
    return h.hexdigest()


def _private(st: os.stat_result) -> bool:
    """Ours, and nobody else may write it."""
    return st.st_uid == os.geteuid() and not st.st_mode & 0o022


def _cache_dir(state_dir: Path) -> Path:
    return state_dir / "cache"


def _file(state_dir: Path, k: str) -> Path:
    return _cache_dir(state_dir) / f"{PREFIX}{k}.json"


def load(state_dir: Path, k: str, site: str) -> dict[str, CompiledPolicy] | None:
    """The compiled policy of every target of ``site`` cached under key ``k``, or None (a miss)."""
    path = _file(state_dir, k)
    try:
        if not _private(os.stat(path.parent)):
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, "rb") as f:
            if not _private(os.fstat(f.fileno())) or not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return None
            doc = json.loads(f.read())
        if doc.get("format") != FORMAT or doc.get("key") != k:
            return None
        targets = doc["sites"][site]
        return {str(t): _policy(d) for t, d in targets.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def store(state_dir: Path, k: str, sites: dict[str, dict[str, CompiledPolicy]]) -> None:
    """Write the compiled policies of ``sites`` (name -> target -> policy) under key ``k``.

    Never raises: a cache that cannot be written only costs the next run its speed. Nothing is written
    unless ``state_dir`` already exists (``--stage`` never creates it, and the journal creates it).
    """
    if not state_dir.is_dir():
        return
    doc = {"format": FORMAT, "key": k,
           "sites": {s: {t: _doc(cp) for t, cp in targets.items()} for s, targets in sites.items()}}
    folder = _cache_dir(state_dir)
    import tempfile  # only when writing: a third of this module's import time

    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        if not _private(os.stat(folder)):
            return
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=folder)  # created 0600
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(doc, f, separators=(",", ":"))
            os.replace(tmp, _file(state_dir, k))
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _prune(folder)
    except OSError:
        return


def _prune(folder: Path) -> None:
    """Keep the :data:`KEEP` most recently written cache files."""
    found = sorted((p for p in folder.glob(f"{PREFIX}*.json")), key=lambda p: p.stat().st_mtime_ns)
    for old in found[:-KEEP]:
        old.unlink(missing_ok=True)


def compile_site(site: Site) -> dict[str, CompiledPolicy]:
    """Every target of ``site`` compiled, as ``verify --pcap`` compiles one."""
    from egressctl.policy import compute_policy, targets

    return {t: CompiledPolicy.compile(compute_policy(site, t), site) for t in targets(site)}


class _Normality:
    """Stands in for the :class:`~egressctl.policy.Policy` of cached tables: all the capture engines ask."""

    def __init__(self, is_normal: bool) -> None:
        self.is_normal = is_normal


def _doc(cp: CompiledPolicy) -> dict[str, Any]:
    return {"rules": list(cp.rule_names), "normal": cp.is_normal, "v4": _tables_doc(cp.v4),
            "v6": _tables_doc(cp.v6)}


def _tables_doc(t: FamilyTables) -> dict[str, Any]:
    doc: dict[str, Any] = {"family": t.family, **{name: getattr(t, name) for name in _LISTS}}
    doc["atoms"] = [[a.proto, a.src_lo, a.src_hi, a.sp_lo, a.sp_hi, a.dp_lo, a.dp_hi, a.code]
                    for a in t.atoms]
    return doc


def _policy(doc: dict[str, Any]) -> CompiledPolicy:
    normal = doc["normal"]
    if not isinstance(normal, bool):
        raise TypeError("normal")
    policy = cast("Policy", _Normality(normal))
    return CompiledPolicy(policy, tuple(str(r) for r in doc["rules"]), _tables(doc["v4"], 4),
                          _tables(doc["v6"], 6))


def _ints(values: Any) -> list[int]:
    if not isinstance(values, list) or not all(type(v) is int for v in values):
        raise TypeError("not a list of integers")
    return values


def _tables(doc: dict[str, Any], family: int) -> FamilyTables:
    if doc["family"] != family:
        raise ValueError("family")
    lo, hi, bounds, interval_class, class_start, class_len = (_ints(doc[name]) for name in _LISTS)
    if not all(len(_ints(a)) == 8 for a in doc["atoms"]):
        raise ValueError("atom")
    atoms = [Atom(*a) for a in doc["atoms"]]
    return FamilyTables(family, lo, hi, bounds, interval_class, class_start, class_len, atoms)
