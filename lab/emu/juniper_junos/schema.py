"""The part of the Junos configuration hierarchy the SRX emulator knows, as data.

Top-level statements are those of the Junos CLI Reference, "Configuration Statements by Hierarchy" (SRX
subset: access ... vlans); a statement under none of them is ``syntax error.`` as on the box. Containers
marked ``open`` keep statements the emulator does not model (``system syslog``, ``protocols``, ``snmp``) as
typed, so they are accepted, shown, compared, committed and rolled back like any other; closed ones
(security policies, address book, applications) refuse unknown words with Junos's error.

Kinds: ``C`` container, ``N`` named list (keyword followed by a name), ``L`` single-valued leaf,
``M`` multi-valued leaf (``[ a b ]``), ``F`` flag (presence). ``N`` nodes may carry a positional value
(``address NAME PREFIX``). Choice groups make flags mutually exclusive (``then permit|deny|reject``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Spec:
    """One schema node."""

    kind: str  # C | N | L | M | F
    children: dict[str, Spec] = field(default_factory=dict)
    positional: str | None = None  # N only: name of the inline value after the name
    choices: tuple[frozenset[str], ...] = ()
    values: tuple[str, ...] = ()  # L only: allowed enumeration (empty = free text)
    expecting: str = "<data>"
    presence: bool = False  # C only: meaningful when empty (``policy-rematch;``), never pruned
    #: C and N entries: statements below it that the schema does not know are kept as typed (generic).
    open: bool = False
    #: Generic statements here differ only by their last word's value (``any notice`` -> ``any info``).
    leafy: bool = False
    #: Display: N entries go inside one ``kw { ... }`` block without the keyword (``interfaces { ge-0/0/0
    #: {...} }``); C children are shown with the keyword in front (``family inet { ... }``).
    block: bool = False
    inline: bool = False


def C(children: dict[str, Spec], choices: tuple[frozenset[str], ...] = (), presence: bool = False,
      open: bool = False, leafy: bool = False) -> Spec:
    """A container (``presence``: its mere existence is a setting; ``open``: keeps unknown statements)."""
    return Spec("C", children, choices=choices, presence=presence, open=open, leafy=leafy)


def N(children: dict[str, Spec] | None = None, positional: str | None = None, open: bool = False,
      leafy: bool = False, block: bool = False) -> Spec:
    """A named list (``open``: its entries keep unknown statements; ``block``: see :class:`Spec`)."""
    return Spec("N", children or {}, positional=positional, open=open, leafy=leafy, block=block)


def O() -> Spec:  # noqa: E743 - reads as the schema letter it is
    """An open container the emulator does not model inside: every statement below it is generic."""
    return C({}, open=True)


F = Spec("F")
M = Spec("M")


def L(values: tuple[str, ...] = (), expecting: str = "<data>") -> Spec:
    """A single-valued leaf."""
    return Spec("L", values=values, expecting=expecting)


_ACTIONS = frozenset({"permit", "deny", "reject"})

_SYSLOG_TARGET = N({}, open=True, leafy=True)  # ``file messages any notice``: facility -> severity

SCHEMA = C({
    "system": C({
        "host-name": L(expecting="<host-name>"),
        "domain-name": L(),
        "time-zone": L(),
        "name-server": N(open=True, block=True),
        "services": C({"ssh": F, "netconf": C({"ssh": F})}, open=True),
        "syslog": C({"user": _SYSLOG_TARGET, "host": _SYSLOG_TARGET, "file": _SYSLOG_TARGET,
                     "console": C({}, open=True, leafy=True)}, open=True),
        "ntp": C({"server": N(open=True)}, open=True),
        "login": C({"message": L(), "class": N(open=True), "user": N(open=True)}, open=True),
        # The rest of [edit system] (Junos CLI Reference, "system"), not modelled inside.
        **{kw: O() for kw in ("accounting", "archival", "arp", "authentication-order", "auto-snapshot",
                              "backup-router", "commit", "compress-configuration-files", "domain-search",
                              "dump-on-panic", "extensions", "internet-options", "license", "location",
                              "management-instance", "max-configuration-rollbacks",
                              "max-configurations-on-flash", "no-redirects", "ports", "processes",
                              "radius-server", "root-authentication", "scripts", "static-host-mapping",
                              "tacplus-server", "tracing")},
    }),
    "interfaces": N({
        "description": L(),
        "disable": F,
        "mtu": L(),
        "unit": N({
            "description": L(),
            "family": Spec("C", {"inet": C({"address": N()}, open=True),
                                 "inet6": C({"address": N()}, open=True)}, open=True, inline=True),
        }, open=True),
    }, open=True, block=True),
    # Common statements inside three open stanzas, so they display in Junos's nesting (``community public {
    # authorization read-only; }``, ``area 0.0.0.0 { interface ge-0/0/0.0; }``); the rest stays generic.
    "snmp": C({"location": L(), "contact": L(), "community": N(open=True, leafy=True),
               "trap-group": N(open=True)}, open=True),
    "routing-options": C({"static": O(), "router-id": L(), "autonomous-system": L()}, open=True),
    "protocols": C({"ospf": C({"area": N(open=True)}, open=True),
                    "ospf3": C({"area": N(open=True)}, open=True),
                    **{p: O() for p in ("bgp", "lldp", "lldp-med", "rstp", "isis", "ldp", "mpls", "pim",
                                        "igmp-snooping", "vrrp")}}, open=True),
    **{kw: O() for kw in ("access", "accounting-options", "chassis", "class-of-service", "event-options",
                          "firewall", "forwarding-options", "groups", "policy-options",
                          "routing-instances", "schedulers", "services",
                          "vlans", "apply-groups", "bridge-domains", "multi-chassis", "poe", "smtp",
                          "switch-options", "virtual-chassis", "logical-systems", "tenants")},
    "security": C({
        "zones": C({"security-zone": N({
            "description": L(),
            "interfaces": N(block=True),
            "host-inbound-traffic": C({"system-services": N(block=True), "protocols": N(block=True)}),
        }, open=True)}, open=True),
        "address-book": N({
            "address": N({"description": L()}, positional="ip-prefix"),
            "address-set": N({"address": N()}),
        }),
        "policies": C({
            "from-zone": N({"to-zone": N({"policy": N({
                "description": L(),
                "match": C({"source-address": M, "destination-address": M, "application": M}),
                "then": C({"permit": F, "deny": F, "reject": F, "count": F,
                           "log": C({"session-init": F, "session-close": F})}, choices=(_ACTIONS,)),
            })})}),
            "default-policy": C({"deny-all": F, "permit-all": F},
                                choices=(frozenset({"deny-all", "permit-all"}),)),
            "policy-rematch": C({"extensive": F}, presence=True),
        }),
        # The rest of [edit security] on SRX (Junos CLI Reference, "security"), not modelled inside.
        **{kw: O() for kw in ("alg", "application-tracking", "authentication-key-chains", "dynamic-address",
                              "flow", "forwarding-options", "idp", "ike", "ipsec", "log", "nat", "pki",
                              "screen", "ssh-known-hosts", "user-identification", "utm")},
    }),
    "applications": C({"application": N({
        "description": L(),
        "protocol": L(("tcp", "udp", "icmp", "icmp6", "gre", "esp"), expecting="<protocol>"),
        "destination-port": L(expecting="<port>"),
        "source-port": L(expecting="<port>"),
        "inactivity-timeout": L(),
    })}),
})
