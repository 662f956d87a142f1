"""A compiled policy as plain data (JSON lists of integers), for the children that judge packets.

Why: a watch agent runs one per capture point, many at once in an estate, and used to receive the whole
site, validate it again with pydantic and compute and compile the policy itself, about 0.2 s of CPU per
agent before it saw a packet. The controller compiles once and sends the tables; the child rebuilds the
same :class:`~egressctl.verify.matcher.CompiledPolicy` from lists of integers without importing the
inventory models or the policy code. The tables are the matcher's own, so verdicts are the same by
construction (a test compares both on every packet kind). The document has the layout of the capture
policy cache's (``capture/policy_cache.py``). Anything malformed raises ``ValueError``/``TypeError``:
the child reports it as an error, never as a clean result.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from egressctl.verify.match_tables import Atom, FamilyTables
from egressctl.verify.matcher import CompiledPolicy

if TYPE_CHECKING:
    from egressctl.policy import Policy

_LISTS = ("inside_lo", "inside_hi", "bounds", "interval_class", "class_start", "class_len")


class _Normality:
    """Stands in for the :class:`~egressctl.policy.Policy` of rebuilt tables: all the matcher asks."""

    def __init__(self, is_normal: bool) -> None:
        self.is_normal = is_normal


def policy_doc(cp: CompiledPolicy) -> dict[str, Any]:
    """``cp`` as JSON-ready plain data (rule names, normality, both families' tables)."""
    return {"rules": list(cp.rule_names), "normal": cp.is_normal, "v4": _tables_doc(cp.v4),
            "v6": _tables_doc(cp.v6)}


def _tables_doc(t: FamilyTables) -> dict[str, Any]:
    doc: dict[str, Any] = {"family": t.family, **{name: list(getattr(t, name)) for name in _LISTS}}
    doc["atoms"] = [[a.proto, a.src_lo, a.src_hi, a.sp_lo, a.sp_hi, a.dp_lo, a.dp_hi, a.code]
                    for a in t.atoms]
    return doc


def compiled_policy(doc: dict[str, Any]) -> CompiledPolicy:
    """The :class:`CompiledPolicy` of a :func:`policy_doc` document.

    Raises:
        TypeError, ValueError, KeyError: the document is malformed.
    """
    normal = doc["normal"]
    if not isinstance(normal, bool):
        raise TypeError("policy document: 'normal' must be true or false")
    policy = cast("Policy", _Normality(normal))
    return CompiledPolicy(policy, tuple(str(r) for r in doc["rules"]), _tables(doc["v4"], 4),
                          _tables(doc["v6"], 6))


def _ints(values: Any) -> list[int]:
    if not isinstance(values, list) or not all(type(v) is int for v in values):
        raise TypeError("policy document: expected a list of integers")
    return values


def _tables(doc: dict[str, Any], family: int) -> FamilyTables:
    if doc["family"] != family:
        raise ValueError(f"policy document: tables of family {doc['family']!r} where {family} belongs")
    lo, hi, bounds, interval_class, class_start, class_len = (_ints(doc[name]) for name in _LISTS)
    if not all(len(_ints(a)) == 8 for a in doc["atoms"]):
        raise ValueError("policy document: an atom is not 8 integers")
    if not bounds or len(bounds) != len(interval_class) or len(class_start) != len(class_len):
        raise ValueError("policy document: inconsistent table lengths")
    atoms = [Atom(*a) for a in doc["atoms"]]
    if any(not 0 <= c < len(class_start) for c in interval_class) or any(
            s < 0 or n < 0 or s + n > len(atoms) for s, n in zip(class_start, class_len, strict=True)):
        raise ValueError("policy document: a class points outside the tables")
    return FamilyTables(family, lo, hi, bounds, interval_class, class_start, class_len, atoms)
