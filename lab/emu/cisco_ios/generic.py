"""IOS configuration lines the router stores without interpreting them (``logging buffered 20000``...).

A real router accepts every valid command, keeps it in running-config at the place its parser prints it,
and saves it with ``write memory``. The emulator interprets only what egressctl and the data plane need
(hostname, interfaces' ACL bindings, ACLs, archive); everything else valid lands here: a global line, with
the sub-mode lines typed under it when the line opens a sub-mode. What counts as valid is the first keyword
(:data:`~egressctl_lab.emu.cisco_ios.constants.CONFIG_GLOBAL`, per sub-mode lists), so a misspelt command
still gets ``% Invalid input`` as on the router; the words after it are kept as typed.

Identity: a line replaces an earlier one with the same key (``logging buffered 4096`` replaces
``logging buffered 20000``); the key is the first words given by :data:`KEY_WORDS`, else the whole line.
``no X`` removes the lines whose words start with X, except for the defaults IOS prints in their negated
form (``no ip http server``), which are stored as such [M: the set is from commonly captured running-configs].
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Global commands opening a sub-mode: leading words -> (mode, keywords valid in it). Lists from the Cisco
#: IOS command references of each mode, trimmed to common commands [M].
SUBMODES: dict[tuple[str, ...], tuple[str, list[str]]] = {
    ("line",): ("config-line", ["access-class", "exec-timeout", "login", "logging", "password", "transport",
                                "privilege", "session-timeout", "stopbits", "length", "width", "history",
                                "exec", "autocommand", "absolute-timeout", "motd-banner", "speed"]),
    ("router",): ("config-router", ["network", "router-id", "passive-interface", "redistribute", "neighbor",
                                    "default-information", "auto-summary", "log-adjacency-changes", "area",
                                    "maximum-paths", "timers", "bgp", "address-family", "version",
                                    "distance", "default-metric", "summary-address", "eigrp"]),
    ("ip", "access-list", "standard"): ("config-std-nacl", ["permit", "deny", "remark"]),
    ("vlan",): ("config-vlan", ["name", "state", "shutdown", "mtu"]),
    ("class-map",): ("config-cmap", ["match", "description"]),
    ("policy-map",): ("config-pmap", ["class", "description"]),
    ("control-plane",): ("config-cp", ["service-policy"]),
    ("key", "chain"): ("config-keychain", ["key"]),
    ("ip", "dhcp", "pool"): ("dhcp-config", ["network", "default-router", "dns-server", "domain-name",
                                             "lease", "option"]),
    ("redundancy",): ("config-red", ["mode"]),
}
#: Sub-mode commands every generic mode accepts.
SUBMODE_COMMON = ["no", "default", "exit", "end", "do", "description"]

#: Lines whose identity is their first N words (a new value replaces the old) [M].
KEY_WORDS: dict[tuple[str, ...], int] = {
    ("logging", "buffered"): 2, ("logging", "console"): 2, ("logging", "monitor"): 2, ("logging", "trap"): 2,
    ("logging", "host"): 3, ("logging", "source-interface"): 2, ("ntp", "server"): 3, ("ntp", "source"): 2,
    ("ip", "domain", "name"): 3, ("ip", "domain-name"): 2, ("ip", "name-server"): 3, ("clock", "timezone"): 2,
    ("enable", "secret"): 2, ("enable", "password"): 2, ("username",): 2, ("snmp-server", "community"): 3,
    ("snmp-server", "location"): 2, ("snmp-server", "contact"): 2, ("ip", "ssh", "version"): 3,
    ("ip", "ssh", "time-out"): 3, ("exec-timeout",): 1, ("transport", "input"): 2, ("login",): 1,
    ("password",): 1, ("session-timeout",): 1, ("access-class",): 3, ("router-id",): 1, ("name",): 1,
    ("service", "timestamps", "debug"): 3, ("service", "timestamps", "log"): 3, ("mode",): 1,
    ("switchport", "mode"): 2, ("switchport", "access", "vlan"): 3, ("switchport", "trunk", "native"): 4,
    ("switchport", "trunk", "allowed", "vlan"): 4, ("switchport", "voice", "vlan"): 3,
}
#: Defaults IOS prints negated (``no ip http server``): their ``no`` form is a stored line [M].
SHOWN_NEGATED: set[tuple[str, ...]] = {
    ("service", "password-encryption"), ("aaa", "new-model"), ("ip", "domain", "lookup"),
    ("ip", "http", "server"), ("ip", "http", "secure-server"), ("ip", "cef"), ("ipv6", "cef"),
    ("cdp", "run"), ("ip", "source-route"), ("service", "pad"), ("service", "config"),
}
#: Where IOS prints a global line in running-config, by its leading words (longest prefix wins) [M: order
#: read from IOSv 15.x running-configs]. Interpreted sections have fixed ranks in render.running_config.
RANKS: dict[tuple[str, ...], int] = {
    ("service",): 10, ("hostname",): 20, ("boot",): 25, ("logging",): 30, ("enable",): 32, ("aaa",): 34,
    ("clock",): 36, ("ip",): 40, ("ipv6",): 42, ("multilink",): 44, ("crypto",): 46, ("key",): 47,
    ("username",): 50, ("redundancy",): 52, ("vlan",): 54, ("archive",): 55, ("class-map",): 56,
    ("policy-map",): 57, ("interface",): 60, ("router",): 65, ("ip", "forward-protocol"): 70,
    ("ip", "http"): 71, ("ip", "ssh"): 72, ("ip", "route"): 73, ("ip", "access-list"): 75,
    ("access-list",): 77, ("logging", "host"): 78, ("logging", "source-interface"): 78, ("snmp-server",): 80,
    ("control-plane",): 82, ("banner",): 85, ("line",): 90, ("ntp",): 95,
}
DEFAULT_RANK = 48


@dataclass
class Block:
    """One stored global line and, when it opened a sub-mode, the lines typed under it."""

    line: str
    children: list[str] = field(default_factory=list)

    def words(self) -> tuple[str, ...]:
        """The line's words, lower-cased (for identity and ordering)."""
        return tuple(w.lower() for w in self.line.split())


def submode_of(words: tuple[str, ...]) -> tuple[str, list[str]] | None:
    """The sub-mode a global line opens (mode name, valid keywords), or None."""
    for head, mode in SUBMODES.items():
        if words[: len(head)] == head:
            return mode
    return None


def key(words: tuple[str, ...]) -> tuple[str, ...]:
    """A line's identity: the first N words for :data:`KEY_WORDS` commands, else all of them."""
    if words and words[0] == "no":
        words = words[1:]
    best = max((p for p in KEY_WORDS if words[: len(p)] == p), key=len, default=None)
    return words[: KEY_WORDS[best]] if best is not None else words


def rank(words: tuple[str, ...]) -> int:
    """Print position of a global line (see :data:`RANKS`)."""
    if words and words[0] == "no":
        words = words[1:]
    best = max((p for p in RANKS if words[: len(p)] == p), key=len, default=None)
    return RANKS[best] if best is not None else DEFAULT_RANK


def set_line(lines: list[str], text: str) -> None:
    """Store a sub-mode line: replace the one with the same key, else append."""
    k = key(tuple(text.lower().split()))
    for i, old in enumerate(lines):
        if key(tuple(old.lower().split())) == k:
            lines[i] = text
            return
    lines.append(text)


def negate_line(lines: list[str], words: tuple[str, ...]) -> None:
    """``no X`` in a sub-mode: drop the lines starting with X (or with X's key)."""
    k = key(words)
    lines[:] = [ln for ln in lines if not _starts(tuple(ln.lower().split()), words, k)]


def set_global(blocks: list[Block], text: str) -> Block:
    """Store a global line (replacing the one with the same identity); returns its block."""
    words = tuple(text.lower().split())
    k = key(words)
    for block in blocks:
        if key(block.words()) == k:
            if block.line != text:
                block.line, block.children = text, [] if submode_of(words) is None else block.children
            return block
    block = Block(text)
    blocks.append(block)
    return block


def negate_global(blocks: list[Block], words: tuple[str, ...], original: str) -> None:
    """``no X`` at global level: store the negated default, or drop the lines starting with X."""
    if words in SHOWN_NEGATED:
        set_global(blocks, "no " + original)
        return
    k = key(words)
    blocks[:] = [b for b in blocks if not _starts(b.words(), words, k)]


def _starts(have: tuple[str, ...], words: tuple[str, ...], k: tuple[str, ...]) -> bool:
    if have and have[0] == "no":
        have = have[1:]
    return have[: len(words)] == words or (len(k) < len(words) and have[: len(k)] == k)


def render(blocks: list[Block], at_rank: int) -> list[str]:
    """The stored lines of one print position; a sub-mode group (``line ...``) is closed by ``!``."""
    here = [b for b in blocks if rank(b.words()) == at_rank]
    out: list[str] = []
    for i, block in enumerate(here):
        out.append(block.line)
        out += [f" {child}" for child in block.children]
        follows = here[i + 1].words()[:1] if i + 1 < len(here) else ()
        if (block.children or submode_of(block.words())) and follows != block.words()[:1]:
            out.append("!")  # ``line con 0`` / ``line vty 0 4`` print as one group, as on IOS
    return out
