"""The ASA's connection table: ``show conn`` and ``clear conn`` over the namespace's conntrack entries.

``show conn`` prints one line per connection: protocol, the interface and address:port of the side on the
lower-security interface first, then those of the other side (ASA 9.x form ``TCP outside
203.0.113.80:443 inside 10.10.1.20:51234, idle 0:00:03, bytes 0, flags UIO``) [M: idle, bytes and flags
are the shape only]. ``clear conn [protocol tcp|udp] [address A[-A2] [netmask M]] [port P[-P2]] [address B
[netmask M]] [port Q]`` removes every matching connection (the first address/port pair is the initiator's
side, the second the responder's) and says how many went (``N connection(s) deleted.``) [M].
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from egressctl_lab.emu.cisco_asa import constants as c
from egressctl_lab.emu.cisco_asa.model import Config
from egressctl_lab.emu.cisco_ios.tokens import CliError, Cursor
from egressctl_lab.emu.sessions import Crossing, SessionTable, crossings, delete_all


def _nameif(cfg: Config, kernel: str | None) -> str:
    return next((i.nameif for i in cfg.interfaces.values() if i.kernel == kernel and i.nameif), "identity")


def _security(cfg: Config, kernel: str | None) -> int:
    return next((i.security for i in cfg.interfaces.values() if i.kernel == kernel), 101)


def _ep(addr: str, port: int | None) -> str:
    return f"{addr}:{port if port is not None else 0}"


def line(cfg: Config, x: Crossing) -> str:
    """One ``show conn`` row."""
    f = x.flow
    a = (_nameif(cfg, x.iif), _ep(f.src, f.sport))
    b = (_nameif(cfg, x.oif), _ep(f.dst, f.dport))
    low, high = (b, a) if _security(cfg, x.oif) <= _security(cfg, x.iif) else (a, b)
    flags = "UIO" if f.proto == "tcp" else "-"
    return f"{f.proto.upper()} {low[0]}  {low[1]} {high[0]}  {high[1]}, idle 0:00:00, bytes 0, flags {flags}"


def show(cfg: Config, table: SessionTable) -> str:
    """``show conn``."""
    rows = [line(cfg, x) for x in crossings(table) if x.forwarded]
    return f"{len(rows)} in use, {len(rows)} most used\n\n" + "".join(r + "\n" for r in rows)


@dataclass
class Filter:
    """What ``clear conn`` selects."""

    proto: str = ""
    addrs: tuple[list[ipaddress.IPv4Network | ipaddress.IPv6Network], ...] = ([], [])
    ports: tuple[list[tuple[int, int]], ...] = ([], [])

    def matches(self, x: Crossing) -> bool:
        """True when the connection is selected."""
        f = x.flow
        if self.proto and f.proto != self.proto:
            return False
        for i, (addr, port) in enumerate(((f.src, f.sport), (f.dst, f.dport))):
            ip = ipaddress.ip_address(addr)
            if self.addrs[i] and not any(ip.version == n.version and ip in n for n in self.addrs[i]):
                return False
            if self.ports[i] and not any(port is not None and lo <= port <= hi for lo, hi in self.ports[i]):
                return False
        return True


def parse_filter(words: str) -> Filter:
    """The filter of ``clear conn ...`` (after ``conn``); ``all`` is accepted and selects everything."""
    cur, flt, side = Cursor(words), Filter(addrs=([], []), ports=([], [])), -1
    cur.optional_keyword(["all"])
    while cur.more():
        kw = cur.keyword(["protocol", "address", "port", "netmask"])
        tok = cur.word()
        try:
            if kw == "protocol":
                flt.proto = {"tcp": "tcp", "udp": "udp", "sctp": "sctp"}[tok.text.lower()]
            elif kw == "address":
                side += 1
                first = tok.text.split("-")[0]
                flt.addrs[min(side, 1)].append(ipaddress.ip_network(first))
            elif kw == "netmask":
                last = flt.addrs[min(side, 1)].pop()
                flt.addrs[min(side, 1)].append(ipaddress.ip_network(f"{last.network_address}/{tok.text}",
                                                                    strict=False))
            else:
                lo, _, hi = tok.text.partition("-")
                flt.ports[max(side, 0) if side < 2 else 1].append((int(lo), int(hi or lo)))
        except (KeyError, ValueError, IndexError):
            raise CliError("invalid", tok.pos) from None
    return flt


def clear(cfg: Config, table: SessionTable, words: str) -> str:
    """``clear conn ...``: delete the selected forwarded connections (together, as the ASA does)."""
    flt = parse_filter(words)
    gone = delete_all(table, [x.flow for x in crossings(table) if x.forwarded and flt.matches(x)])
    return c.CONN_DELETED.format(n=gone) + "\n"
