"""``/ip firewall connection`` and the read-only menus, over the namespace's session table.

Connection items are the conntrack entries of the router's namespace, numbered by ``print`` like any
item; ``print`` shows them in the terse shape ntc-templates parse (``protocol= src-address= src-port=
dst-address= dst-port= reply-... tcp-state= timeout= ...``) and ``remove`` deletes the entries, so the
connection's next packet is new again and meets the filter (a fasttracked one included: the mark goes with
the entry).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from egressctl_lab.emu.mikrotik_routeros import constants as c
from egressctl_lab.emu.mikrotik_routeros.model import Item
from egressctl_lab.emu.sessions import Flow

if TYPE_CHECKING:
    from egressctl_lab.emu.mikrotik_routeros.device import RosDevice

#: conntrack's TCP states as RouterOS prints them.
_TCP = {"ESTABLISHED": "established", "SYN_SENT": "syn-sent", "SYN_RECV": "syn-received",
        "FIN_WAIT": "fin-wait", "CLOSE_WAIT": "close-wait", "LAST_ACK": "last-ack", "TIME_WAIT": "time-wait",
        "CLOSE": "close"}


def _timeout(seconds: int) -> str:
    h, rest = divmod(max(0, seconds), 3600)
    mins, s = divmod(rest, 60)
    return (f"{h}h" if h else "") + (f"{mins}m" if mins or h else "") + f"{s}s"


def _props(f: Flow) -> dict[str, str]:
    props = {"protocol": f.proto, "src-address": f.src}
    if f.proto in ("tcp", "udp"):
        props.update({"src-port": str(f.sport), "dst-address": f.dst, "dst-port": str(f.dport),
                      "reply-src-address": f.dst, "reply-src-port": str(f.dport), "reply-dst-address": f.src,
                      "reply-dst-port": str(f.sport)})
        if f.proto == "tcp":
            props["tcp-state"] = _TCP.get(f.state, f.state.lower())
    else:
        props.update({"dst-address": f.dst, "reply-src-address": f.dst, "reply-dst-address": f.src})
        if f.proto.startswith("icmp"):
            props.update({"icmp-type": str(f.dport or 0), "icmp-code": "0", "icmp-id": str(f.sport or 0)})
    props["timeout"] = _timeout(f.timeout)
    for k in ("orig-packets", "orig-bytes", "orig-fasttrack-packets", "orig-fasttrack-bytes", "repl-packets",
              "repl-bytes", "repl-fasttrack-packets", "repl-fasttrack-bytes"):
        props[k] = "0"
    props.update({"orig-rate": "0bps", "repl-rate": "0bps"})
    return props


class ConnItem(Item):
    """A connection item, carrying the flow it stands for."""

    def __init__(self, number: int, flow: Flow) -> None:
        super().__init__(flow.ct_id or number + 1, _props(flow))
        self.flow = flow


def items(device: RosDevice, family: int) -> list[Item]:
    """The connections of one family now."""
    flows = [f for f in device.dataplane.sessions.flows() if f.family == family]
    return [ConnItem(n, f) for n, f in enumerate(flows)]


def remove(device: RosDevice, chosen: list[Item]) -> None:
    """Delete the chosen connections' entries."""
    for item in chosen:
        if isinstance(item, ConnItem):
            device.dataplane.sessions.delete(item.flow)


def print_terse(shown: list[tuple[int, Item]]) -> str:
    """Connections, one a line: number, flags (S seen reply, A assured, C confirmed), properties."""
    out = []
    for num, item in shown:
        flow = item.flow if isinstance(item, ConnItem) else None
        flags = "SAC" if flow is None or flow.replied else "C"
        out.append(f"{num:>2}  {flags:<4} " + " ".join(f"{k}={v}" for k, v in item.props.items()))
    return "\n".join(out) + ("\n" if out else "")


def read_only(device: RosDevice, menu: str, terse: bool) -> str:
    """``/interface print`` (terse shape of ntc-templates) and ``/system resource print``."""
    if menu == "system resource":
        up = int(device.clock.now() - device.booted_at)
        return c.RESOURCE.format(uptime=_timeout(up).replace("h", "h"), version=c.VERSION)
    rows = []
    for n, name in enumerate(device.spec.interfaces):
        mac = f"4C:5E:0C:11:00:{n + 1:02X}"
        if terse:
            rows.append(f"{n:>2}  R  name={name} default-name={name} type=ether mtu=1500 actual-mtu=1500 "
                        f"l2mtu=1514 max-l2mtu=9214 mac-address={mac}")
        else:
            rows.append(f"{n:>2} R {name:<10} ether        1500   1514       9214  {mac}")
    if terse:
        return "\n".join(rows) + ("\n" if rows else "")
    head = ["Flags: R - RUNNING", "Columns: NAME, TYPE, ACTUAL-MTU, L2MTU, MAX-L2MTU, MAC-ADDRESS",
            " #   NAME       TYPE   ACTUAL-MTU  L2MTU  MAX-L2MTU  MAC-ADDRESS"]
    return "\n".join([*head, *rows]) + "\n"
