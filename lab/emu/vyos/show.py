"""VyOS operational commands: ``show ...``, conntrack listing and deletion, and the ``| match`` filters.

``show conntrack table ipv4|ipv6`` prints VyOS's table; ``sudo conntrack -L|-D`` is the conntrack-tools
command an admin runs from the op-mode shell (the reference's selective session kill), answered from the
device namespace's real connection-tracking table (``DataPlane.sessions``).
"""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

from egressctl_lab.emu.sessions import Flow, delete_all
from egressctl_lab.emu.vyos import constants as c
from egressctl_lab.emu.vyos.tree import Tree, braces, commands, values
from egressctl_lab.emu.vyos.versions import version_tuple

if TYPE_CHECKING:
    from egressctl_lab.emu.vyos.device import VyosDevice


def pipes(text: str, filters: list[str]) -> str:
    """Apply ``| match RE`` / ``| no-match RE`` (VyOS's grep filters) to ``text``."""
    lines = text.splitlines()
    for f in filters:
        verb, _, arg = f.strip().partition(" ")
        pattern = arg.strip().strip("\"'")
        if verb == "match":
            lines = [ln for ln in lines if re.search(pattern, ln)]
        elif verb == "no-match":
            lines = [ln for ln in lines if not re.search(pattern, ln)]
        elif verb == "count":
            lines = [str(len(lines))]
    return "\n".join(lines) + ("\n" if lines else "")


def configuration(cfg: Tree, words: list[str]) -> str:
    """``show configuration [commands]`` of ``cfg`` (the active configuration in op mode)."""
    if words[:1] == ["commands"]:
        return "\n".join(commands(cfg)) + "\n"
    return "\n".join(braces(cfg)) + "\n"


def version(dev: VyosDevice) -> str:
    """``show version``."""
    train = "circinus" if dev.supports_reload else "sagitta"
    return c.SHOW_VERSION.format(version=dev.version, train=train)


def interfaces(dev: VyosDevice) -> str:
    """``show interfaces``: one line per ethernet interface with its addresses, state and description.

    VyOS 1.4 added the MAC, VRF and MTU columns; a router before 1.4 prints the four-column table that
    ntc-templates' ``vyatta_vyos_show_interfaces`` parses [M for the column widths].
    """
    wide = version_tuple(dev.version) >= (1, 4)
    head = ["Codes: S - State, L - Link, u - Up, D - Down, A - Admin Down"]
    head += (["Interface    IP Address         MAC                VRF        MTU  S/L    Description",
              "-----------  -----------------  -----------------  -------  -----  -----  -------------"]
             if wide else ["Interface        IP Address                        S/L  Description",
                           "---------        ----------                        ---  -----------"])
    rows = []
    ethers = dev.active.get("interfaces", {}).get("ethernet", {})
    for name in sorted(ethers):
        addrs = values(dev.active, ["interfaces", "ethernet", name, "address"]) or ["-"]
        mac = (values(dev.active, ["interfaces", "ethernet", name, "hw-id"]) or ["00:00:00:00:00:00"])[0]
        state = "A/D" if "disable" in ethers[name] else "u/u"
        desc = " ".join(values(dev.active, ["interfaces", "ethernet", name, "description"]))
        if wide:
            rows.append(f"{name:<12} {addrs[0]:<18} {mac:<18} default   1500  {state:<6} {desc}".rstrip())
            rows += [f"{'':<12} {a}" for a in addrs[1:]]
        else:
            rows.append(f"{name:<16} {addrs[0]:<33} {state:<4} {desc}")  # padded as VyOS pads it
            rows += [f"{'':<16} {a}" for a in addrs[1:]]
    return "\n".join([*head, *rows]) + "\n"


def conntrack_table(dev: VyosDevice, family: int) -> str:
    """``show conntrack table ipv4|ipv6`` [M for the column layout]."""
    lines = ["Id          Original src        Original dst        Reply src           Reply dst           "
             "Protocol    State        Timeout",
             "----------  ------------------  ------------------  ------------------  ------------------  "
             "----------  -----------  ---------"]
    for f in dev.dataplane.sessions.flows():
        if f.family != family or f.over:
            continue
        src = f"{f.src}:{f.sport}" if f.sport is not None and f.proto != "icmp" else f.src
        dst = f"{f.dst}:{f.dport}" if f.dport is not None and f.proto != "icmp" else f.dst
        lines.append(f"{f.ct_id:<10}  {src:<18}  {dst:<18}  {dst:<18}  {src:<18}  {f.proto:<10}  "
                     f"{f.state or '-':<11}  {f.timeout}")
    return "\n".join(lines) + "\n"


def conntrack_cmd(dev: VyosDevice, args: list[str]) -> str:
    """``sudo conntrack -L|-D [-f F] [-p P] [-s A [--mask-src M]] [-d A [--mask-dst M]] [--sport/--dport N]``.

    ``-o extended`` is the only output; a deletion's entries go together (one conntrack batch).
    """
    opts: dict[str, str] = {}
    verb = ""
    i = 0
    while i < len(args):
        if args[i] in ("-L", "-D", "-F"):
            verb = args[i]
        elif args[i].startswith("-") and i + 1 < len(args):
            opts[args[i]] = args[i + 1]
            i += 1
        i += 1
    table = dev.dataplane.sessions
    chosen = [f for f in table.flows() if _matches(f, opts)]
    if verb == "-L":
        body = "".join(_extended(f) + "\n" for f in chosen)
        return body + c.CT_LISTED.format(n=len(chosen))
    if verb in ("-D", "-F"):
        gone = delete_all(table, chosen)
        return c.CT_DELETED.format(n=gone)
    return "conntrack v1.4.7 (conntrack-tools): Missing arguments\n"


def _matches(f: Flow, opts: dict[str, str]) -> bool:
    fam = {"ipv4": 4, "ipv6": 6}.get(opts.get("-f", ""), f.family)
    if f.family != fam or ("-p" in opts and opts["-p"] != f.proto):
        return False
    for flag, mask, addr in (("-s", "--mask-src", f.src), ("-d", "--mask-dst", f.dst)):
        if flag in opts and not _within(addr, opts[flag], opts.get(mask)):
            return False
    for flag, port in (("--sport", f.sport), ("--dport", f.dport)):
        if flag in opts and str(port) != opts[flag]:
            return False
    return True


def _within(addr: str, spec: str, mask: str | None = None) -> bool:
    """``addr`` under ``-s/-d spec`` (an address, the whole of it unless ``--mask-src/--mask-dst mask``)."""
    try:
        bits = bin(int(ipaddress.ip_address(mask))).count("1") if mask is not None else None
        net = ipaddress.ip_network(spec if bits is None else f"{spec}/{bits}", strict=False)
        return ipaddress.ip_address(addr) in net
    except ValueError:
        return False


def _extended(f: Flow) -> str:
    """One line as ``conntrack -L -o extended`` prints it (original tuple, then the reply tuple)."""
    fam = "ipv4" if f.family == 4 else "ipv6"
    num = {"tcp": 6, "udp": 17, "icmp": 1, "icmpv6": 58}.get(f.proto, 0)
    ports = ""
    rports = ""
    if f.proto in ("tcp", "udp") and f.sport is not None:
        ports, rports = f" sport={f.sport} dport={f.dport}", f" sport={f.dport} dport={f.sport}"
    state = f" {f.state}" if f.proto == "tcp" else ""
    flag = "" if f.replied else " [UNREPLIED]"
    return (f"{fam}     {2 if f.family == 4 else 10} {f.proto} {num} {f.timeout}{state} src={f.src} "
            f"dst={f.dst}{ports}{flag} src={f.dst} dst={f.src}{rports} mark=0 use=1 id={f.ct_id}")
