"""The part of the Junos configuration hierarchy the SRX emulator knows, as data.

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


def C(children: dict[str, Spec], choices: tuple[frozenset[str], ...] = (), presence: bool = False) -> Spec:
    """A container (``presence``: its mere existence is a setting)."""
    return Spec("C", children, choices=choices, presence=presence)


def N(children: dict[str, Spec] | None = None, positional: str | None = None) -> Spec:
    """A named list."""
    return Spec("N", children or {}, positional=positional)


F = Spec("F")
M = Spec("M")


def L(values: tuple[str, ...] = (), expecting: str = "<data>") -> Spec:
    """A single-valued leaf."""
    return Spec("L", values=values, expecting=expecting)


_ACTIONS = frozenset({"permit", "deny", "reject"})

SCHEMA = C({
    "system": C({
        "host-name": L(expecting="<host-name>"),
        "services": C({"ssh": F, "netconf": C({"ssh": F})}),
    }),
    "interfaces": N({
        "description": L(),
        "unit": N({
            "description": L(),
            "family": C({"inet": C({"address": N()}), "inet6": C({"address": N()})}),
        }),
    }),
    "security": C({
        "zones": C({"security-zone": N({
            "description": L(),
            "interfaces": N(),
            "host-inbound-traffic": C({"system-services": N(), "protocols": N()}),
        })}),
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
    }),
    "applications": C({"application": N({
        "description": L(),
        "protocol": L(("tcp", "udp", "icmp", "icmp6", "gre", "esp"), expecting="<protocol>"),
        "destination-port": L(expecting="<port>"),
        "source-port": L(expecting="<port>"),
        "inactivity-timeout": L(),
    })}),
})
