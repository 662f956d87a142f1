"""Markers and state comparison shared by every driver.

Each driver writes a marker (target + ``Policy.fingerprint()``) next to the objects it owns and parses it
back in ``read_state``. Whether a device already holds a policy is decided here, once, so every driver's
``render(policy, current)`` returns no lines for the same reason: same target, same fingerprint and the
same rule atoms read back from the device.

The marker also carries the *stamp* of the operation that wrote it (``op=<op id> owner=<user@host>``, see
:class:`egressctl.driver.Stamp`), so a second controller can tell whose unconfirmed change a device holds.
The stamp never decides whether a device holds a policy: a device at its target under another
operation's stamp needs nothing (:func:`same_but_stamp` lets renders that compare text ignore it).
Where the marker must stay short (an IOS remark, an nft table comment), the stamp goes in a text of its
own (:func:`stamp_text`); parsers find it anywhere with :data:`STAMP_RE`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from egressctl.driver import DeviceState, Stamp, current_stamp
from egressctl.inventory.models import Network, PortRange, Protocol
from egressctl.policy import ANY_V4, ANY_V6, Action, Policy, Rule, RuleKind, equivalent, fingerprint

MARKER_RE = re.compile(
    r"egressctl target=(?P<target>[A-Za-z][A-Za-z0-9_-]{0,31}) fingerprint=(?P<fp>[0-9a-f]{12})"
)
STAMP_RE = re.compile(r"\bop=(?P<op>[A-Za-z0-9][A-Za-z0-9_.-]{0,39}) owner=(?P<owner>[A-Za-z0-9._@-]{1,48})")
UNKNOWN_TARGET = "unknown"


def bare_marker(policy: Policy) -> str:
    """The marker without a stamp: ``egressctl target=T fingerprint=F``."""
    return f"egressctl target={policy.target} fingerprint={policy.fingerprint()}"


def _stamp_words(stamp: Stamp | None) -> str:
    return f"op={stamp.op_id} owner={stamp.owner}" if stamp is not None else ""


def marker(policy: Policy, stamp: Stamp | None = None) -> str:
    """The marker text a driver stores with its objects, stamped (``stamp`` or the running operation's)."""
    words = _stamp_words(stamp or current_stamp())
    return bare_marker(policy) + (f" {words}" if words else "")


def stamp_text(stamp: Stamp | None = None) -> str:
    """The stamp on its own (``egressctl op=O owner=U``), or "" outside an operation."""
    words = _stamp_words(stamp or current_stamp())
    return f"egressctl {words}" if words else ""


def parse_marker(text: str) -> tuple[str, str] | None:
    """``(target, fingerprint)`` from the first marker in ``text``, or None."""
    m = MARKER_RE.search(text)
    return (m.group("target"), m.group("fp")) if m else None


def parse_stamp(text: str) -> tuple[str, str]:
    """``(op id, owner)`` of the first stamp in ``text``, or ``("", "")``."""
    m = STAMP_RE.search(text)
    return (m.group("op"), m.group("owner")) if m else ("", "")


def same_but_stamp(have: str, want: str) -> bool:
    """True when two texts differ at most in their stamps (a comment that needs no rewrite)."""
    return STAMP_RE.sub("", have).split() == STAMP_RE.sub("", want).split()


def holds(policy: Policy, current: DeviceState | None) -> bool:
    """True when ``current`` (a device read-back) already is ``policy``: nothing needs to be sent."""
    if current is None:
        return False
    if policy.is_normal:
        return current.is_normal
    return (
        current.target == policy.target
        and current.fingerprint == policy.fingerprint()
        and equivalent(current.rules, policy.rules)
    )


def build_state(
    marker_text: str, rules: Iterable[Rule], *, pending: bool, raw: str, owned: bool,
    stamp_in: str | None = None,
) -> DeviceState:
    """Assemble a ``DeviceState`` from what a parser found.

    ``owned`` says whether any egressctl object exists. Without any, the device is ``normal``. With objects
    but no readable marker, the target is ``unknown`` and the fingerprint is recomputed from the rules read
    back, so the planner sees a state that matches no target and re-applies. The stamp is read from
    ``stamp_in`` (default: ``marker_text``).
    """
    rules = tuple(rules)
    if not owned:
        return DeviceState("normal", "", (), pending, raw)
    op_id, owner = parse_stamp(marker_text if stamp_in is None else stamp_in)
    found = parse_marker(marker_text)
    if found is None:
        return DeviceState(UNKNOWN_TARGET, fingerprint(rules), rules, pending, raw, op_id, owner)
    return DeviceState(found[0], found[1], rules, pending, raw, op_id, owner)


def kind_for(name: str, action: str) -> RuleKind:
    """The neutral rule kind implied by an owned rule's name (kinds are informative, not compared)."""
    if action == "deny":
        return "deny"
    if name.startswith("mgmt-"):
        return "management"
    if name.startswith("always-"):
        return "always"
    return "stage"


def atom_rule(
    name: str,
    action: Action,
    protocol: Protocol,
    family: int | None,
    source: Network | None = None,
    destination: Network | None = None,
    src_port: PortRange | None = None,
    dst_port: PortRange | None = None,
) -> Rule:
    """A neutral rule for one device entry (one source, destination and port range at most).

    A missing address within a known ``family`` becomes that family's any-prefix, so the rule keeps
    applying to that family only (an empty tuple would mean both families).
    """
    any_net = {4: ANY_V4, 6: ANY_V6}
    srcs: tuple[Network, ...] = ()
    dsts: tuple[Network, ...] = ()
    if family is not None:
        srcs = (source if source is not None else any_net[family],)
        dsts = (destination if destination is not None else any_net[family],)
    return Rule(
        name, kind_for(name, action), action, protocol, srcs, dsts,
        (src_port,) if src_port else (), (dst_port,) if dst_port else (),
    )
