"""Linux connection-tracking entries, as ``conntrack -L -o extended`` prints them (pure).

Shared by every platform whose session table *is* the Linux kernel's: the ``linux_nftables`` box itself and
VyOS, whose ``reset conntrack`` and ``sudo conntrack`` act on the same table. Kept here, not in one of those
platform folders, so that no platform imports another's code.
"""

from __future__ import annotations

from egressctl_drivers.common import sessions as S

#: TCP states whose connection is over (nothing left to end).
TCP_OVER = frozenset({"TIME_WAIT", "CLOSE"})


def parse_entries(text: str) -> list[S.Session]:
    """Sessions of ``conntrack -L -o extended`` output (the original direction is the first tuple)."""
    out: list[S.Session] = []
    for line in text.splitlines():
        tokens = line.split()
        if len(tokens) < 6 or tokens[0] not in ("ipv4", "ipv6"):
            continue
        fields: dict[str, str] = {}
        for token in tokens[5:]:
            key, eq, value = token.partition("=")
            if eq and key not in fields:
                fields[key] = value
        if "src" not in fields or "dst" not in fields:
            continue
        proto = tokens[2]
        state = tokens[5] if proto == "tcp" else ""
        out.append(S.Session(
            ref="", protocol=proto, src=S.address(fields["src"]), dst=S.address(fields["dst"]),
            sport=S.port(fields.get("sport")), dport=S.port(fields.get("dport")),
            live=state not in TCP_OVER,
        ))
    return out
