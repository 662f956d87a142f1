"""FortiOS ``show`` and ``get``: the interpreted tables, the generic ones, and the unit's status pages.

``get system status`` and ``get system interface physical`` follow the captures the community's TextFSM
templates are tested with (ntc-templates ``tests/fortinet/get_system_status/*_7.0*.raw`` and
``tests/fortinet/get_system_interface_physical/*_7.4.raw``); an interface's address, state and MAC come from
the kernel interface it stands for, unless ``config system interface`` sets them.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
import time
from typing import TYPE_CHECKING, Any

from egressctl_lab.emu.fortinet import constants as C
from egressctl_lab.emu.fortinet import generic as G
from egressctl_lab.emu.fortinet import model as M
from egressctl_lab.emu.fortinet.values import parse_error

if TYPE_CHECKING:
    from egressctl_lab.emu.fortinet.cli import FortiSession


def find_path(words: list[str]) -> tuple[str | None, list[str]]:
    """The longest interpreted table path at the start of ``words`` and the words after it."""
    for n in (3, 2):
        candidate = " ".join(words[:n])
        if candidate in M.SCHEMAS:
            return candidate, words[n:]
    return None, words


def show(cli: FortiSession, args: list[str]) -> list[str]:
    """``show [full-configuration] [PATH [KEY]]``, or the open context's table/entry."""
    full = bool(args) and args[0] == "full-configuration"
    args = args[1:] if full else args
    config = cli.device.config
    if not args and cli.generic.active:
        return cli.generic.show()
    if not args and cli.path is not None:
        if cli.work is None:
            return M.render_table(cli.path, config[cli.path], full=full)
        key = "" if cli.key is None else cli.key
        return M.render_table(cli.path, {key: cli.work}, full=full)
    if not args:
        lines: list[str] = []
        for name, table in config.items():
            if name in M.SCHEMAS:
                lines += M.render_table(name, table, full=full)
            elif G.is_top(name):
                lines += G.render(config, name)
        return lines
    path, rest = find_path(args)
    if path is not None and len(rest) <= 1 and not (rest and M.SCHEMAS[path].singleton):
        return M.render_table(path, config[path], full=full, key=rest[0] if rest else None)
    flat, after = G.find(args)
    if flat is not None and len(after) <= 1 and not (after and G.spec_of(flat).singleton):
        return G.render(config, flat, key=after[0] if after else None)
    raise parse_error(rest[-1] if path and rest else args[-1])


def get(cli: FortiSession, args: list[str]) -> list[str]:
    """``get system status``, ``get system interface physical``, ``get [PATH [KEY]]``."""
    config = cli.device.config
    if args == ["system", "status"]:
        return _status(cli)
    if args == ["system", "interface", "physical"]:
        return physical(cli)
    if not args and cli.generic.active:
        top = cli.generic.stack[-1]
        return G.get_lines(cli.generic.draft, top.flat, top.key)
    if not args and cli.path is not None and cli.work is not None:
        return M.get_lines(cli.path, cli.work)
    path, rest = find_path(args)
    if path is None:
        flat, after = G.find(args)
        if flat is None or len(after) > 1:
            raise parse_error(args[-1] if args else "get")
        return G.get_lines(config, flat, after[0] if after else None)
    if len(rest) > 1:
        raise parse_error(args[-1])
    table = config[path]
    if M.SCHEMAS[path].singleton:
        return M.get_lines(path, table[""])
    lines: list[str] = []
    for key, entry in table.items():
        if not rest or rest[0] == key:
            lines += [f"== [ {key} ]", *M.get_lines(path, entry)]
    return lines


def _status(cli: FortiSession) -> list[str]:
    device = cli.device
    now = time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(device.clock.now()))
    mode = M.value_of("system global", device.config["system global"][""], "vdom-mode")[0]
    text = C.SYSTEM_STATUS.format(version=C.VERSION_LINE, host=device.hostname(), time=now,
                                  vdom=C.VDOM_STATUS[mode])
    return text.splitlines()


def kernel_link(kernel: str) -> dict[str, Any]:
    """``ip -j addr show dev KERNEL`` of this namespace ({} when absent): state, MAC, addresses."""
    if not kernel:
        return {}
    try:
        out = subprocess.run(["ip", "-j", "addr", "show", "dev", kernel], capture_output=True, text=True,
                             timeout=5, check=False).stdout
        info = json.loads(out or "[]")
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return {}
    return info[0] if info else {}


def _address(link: dict[str, Any], family: str) -> str | None:
    for a in link.get("addr_info", []):
        if a.get("family") == family and a.get("scope") == "global":
            return f"{a['local']}/{a['prefixlen']}"
    return None


def physical(cli: FortiSession) -> list[str]:
    """``get system interface physical``: every port, as configured or as its kernel interface is."""
    configured = cli.device.config.get("system interface", {})
    lines = ["== [onboard]"]
    for name in cli.device.interfaces():
        entry = configured.get(name, {})
        link = kernel_link(cli.device.spec.interfaces.get(name, ""))
        ip = entry.get("ip")
        if ip is not None and len(ip) == 1 and "/" in ip[0]:
            net = ipaddress.IPv4Interface(ip[0])
            ip = (str(net.ip), str(net.netmask))
        v4 = _address(link, "inet")
        if ip is None and v4:
            net = ipaddress.IPv4Interface(v4)
            ip = (str(net.ip), str(net.netmask))
        up = entry.get("status", ("up",)) == ("up",) and link.get("operstate", "UP") in ("UP", "UNKNOWN")
        lines += [
            f"    ==[{name}]",
            f"        mode: {entry.get('mode', ('static',))[0]}",
            f"        ip: {' '.join(ip or ('0.0.0.0', '0.0.0.0'))}",  # noqa: S104 - shown, not bound
            f"        ipv6: {_address(link, 'inet6') or '::/0'}",
            f"        status: {'up' if up else 'down'}",
            f"        speed: {C.PORT_SPEED if up else 'n/a'}",
            "        FEC: none",
            "        FEC_cap: none",
        ]
    return lines
