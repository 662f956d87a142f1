"""What a FortiGate does to established sessions when its policies change: ``firewall-session-dirty``.

``config system settings`` / ``set firewall-session-dirty`` (Fortinet KB "Technical Tip: Information about
firewall-session-dirty"): ``check-all`` (the default) flushes the sessions and evaluates them anew, so a
session the new policies deny is gone; ``check-new`` keeps every existing session and checks new ones
only; ``check-policy-option`` lets the policy that accepted a session decide with its own
``firewall-session-dirty`` (check-all by default). Only forwarded sessions are governed by firewall
policies; sessions to the unit itself (local-in) never are.
"""

from __future__ import annotations

from collections.abc import Mapping

from egressctl_lab.emu.fortinet.compile import policy_matches
from egressctl_lab.emu.fortinet.model import Config, value_of
from egressctl_lab.emu.fortinet.nftrules import matches_flow
from egressctl_lab.emu.sessions import Bindings, Crossing, Flow, SessionTable, crossings, prune

CHECK_NEW = "check-new"
POLICY_OPTION = "check-policy-option"


def lookup(config: Config, kernel: Mapping[str, str], flow: Flow, iif: str,
           oif: str) -> tuple[str | None, bool]:
    """(id of the first policy matching ``flow``, whether it accepts); (None, False) = implicit deny."""
    for policy_id, entry in config.get("firewall policy", {}).items():
        for match in policy_matches(config, policy_id, entry, kernel):
            if matches_flow(match, flow, iif, oif):
                return policy_id, match.verdict == "accept"
    return None, False


def session_dirty(config: Config) -> str:
    """The VDOM's ``firewall-session-dirty`` (its default when unset)."""
    entry = config.get("system settings", {}).get("", {})
    return value_of("system settings", entry, "firewall-session-dirty")[0]


def _policy_keeps(config: Config, policy_id: str | None) -> bool:
    """Under ``check-policy-option``: the accepting policy (as it was before) says ``check-new``."""
    entry = config.get("firewall policy", {}).get(policy_id or "")
    return entry is not None and value_of("firewall policy", entry, "firewall-session-dirty")[0] == CHECK_NEW


def recheck(table: SessionTable, before: Config, after: Config, kernel: Mapping[str, str],
            bound: Bindings[str | None]) -> int:
    """Apply ``firewall-session-dirty`` after a policy change; returns how many sessions were flushed.

    ``bound`` remembers the policy that accepted each session (its ``policy_id``); a re-evaluation that
    keeps a session moves it to the policy that now accepts it, as FortiOS does.
    """
    found = crossings(table)

    def opened_under(c: Crossing) -> str | None:
        assert c.iif is not None and c.oif is not None
        return lookup(before, kernel, c.flow, c.iif, c.oif)[0]

    bound.refresh(found, opened_under)
    mode = session_dirty(after)
    if mode == CHECK_NEW:
        return 0

    def keep(c: Crossing) -> bool:
        assert c.iif is not None and c.oif is not None
        if mode == POLICY_OPTION and _policy_keeps(before, bound.get(c.flow)):
            return True
        policy_id, accepted = lookup(after, kernel, c.flow, c.iif, c.oif)
        if accepted:
            bound.set(c.flow, policy_id)
        return accepted

    return prune(table, list(kernel.values()), keep, found)
