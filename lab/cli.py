"""``egressctl lab ...``: build, inspect, enter and tear down the emulated site.

Thin glue over :class:`egressctl_lab.Lab`. Errors are printed in one line and mapped to exit codes
(1: the lab could not be built or torn down, 2: usage or inventory error).
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from egressctl_lab.errors import LabError

from egressctl.errors import EgressError, InventoryError

if TYPE_CHECKING:
    from rich.console import Console

lab_app = typer.Typer(help="Build, inspect and tear down the emulated lab site.", no_args_is_help=True)


def _err() -> Console:
    """A stderr console, built when something is printed.

    rich is imported by the functions that print: ``egressctl --help`` loads this app for its help line,
    and rich was a sixth of that.
    """
    from rich.console import Console

    return Console(stderr=True)


InventoryOpt = Annotated[
    Path | None,
    typer.Option("--inventory", "-i", help="lab inventory (default: the running lab's, $EGRESSCTL_INVENTORY, "
                                           "./inventory/lab.yaml, or the lab site shipped with egressctl)"),
]
PrefixOpt = Annotated[
    str | None, typer.Option(help="namespace prefix (default $EGRESSCTL_LAB_PREFIX or eg-)")
]
#: The lab site shipped inside the package (the repository's inventory/lab.yaml links to it), so
#: ``egressctl lab up`` works from an installed wheel, in any directory.
PACKAGED_SITE = Path(__file__).resolve().with_name("site.yaml")


def _inventory(explicit: Path | None) -> Path:
    """The inventory a lab command builds from, the first that applies.

    The running lab's source (so ``status``/``down`` describe what is up), then ``$EGRESSCTL_INVENTORY``,
    then ``./inventory/lab.yaml`` in a checkout, then the packaged lab site.
    """
    if explicit is not None:
        return explicit
    from egressctl_lab.state import paths, read_lab_json

    doc = read_lab_json(paths()) or {}
    if doc.get("source") and Path(str(doc["source"])).is_file():
        return Path(str(doc["source"]))
    if os.environ.get("EGRESSCTL_INVENTORY"):
        return Path(os.environ["EGRESSCTL_INVENTORY"])
    local = Path("inventory/lab.yaml")
    return local if local.is_file() else PACKAGED_SITE


def _require_lab_extra() -> None:
    """Fail in one line when the lab's own dependencies are missing (egressctl installed without [lab]).

    Without this the emulators would die one by one with a traceback in their logs.
    """
    if importlib.util.find_spec("asyncssh") is None:
        _err().print("error: the lab needs its extra dependencies: pip install 'egressctl[lab]'",
                     markup=False, highlight=False)
        raise typer.Exit(2)


def _fail(exc: EgressError) -> typer.Exit:
    from egressctl.inventory.credentials import redact

    _err().print(f"[red]error:[/red] {redact(str(exc))}", markup=True, highlight=False)
    return typer.Exit(2 if isinstance(exc, InventoryError) else 1)


def _make(inventory: Path | None, prefix: str | None = None, **kw: object):  # type: ignore[no-untyped-def]
    from egressctl_lab import Lab

    if inventory is None:
        from egressctl_lab.state import paths, read_lab_json

        doc = read_lab_json(paths()) or {}
        prefix = prefix or doc.get("prefix")
        if "port_base" not in kw and doc.get("port_base") is not None:
            kw["port_base"] = int(doc["port_base"])
    return Lab(_inventory(inventory), prefix=prefix, **kw)  # type: ignore[arg-type]


@lab_app.command()
def up(
    inventory: InventoryOpt = None,
    prefix: PrefixOpt = None,
    time_scale: Annotated[float, typer.Option(help="device timers run this many times real time")] = 0.25,
    port_base: Annotated[
        int | None, typer.Option(help="first loopback port (default: the inventory's)")
    ] = None,
    sites: Annotated[int, typer.Option(min=1, max=50, help=(
        "build an estate: N copies of the site (lab, lab2, ...), each with its own namespaces, devices and "
        "ports, in one inventory with a group 'estate' (root mode)"))] = 1,
    devices_per_site: Annotated[int, typer.Option(min=0, max=60, help=(
        "with --sites: each copy holds this many devices, the site's own and branch routers/firewalls of "
        "its emulated platforms (0: the site's own)"))] = 0,
) -> None:
    """Build the lab (repairing leftovers of a previous one) and start every device."""
    _require_lab_extra()
    if sites > 1 or devices_per_site:
        _estate_up(inventory, prefix, port_base, time_scale, sites, devices_per_site)
        return
    try:
        lab = _make(inventory, prefix, port_base=port_base, time_scale=time_scale)
        status = lab.up()
    except EgressError as exc:
        raise _fail(exc) from None
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"lab up ({status.mode} mode, prefix {status.prefix})")
    for col in ("device", "platform", "netmiko", "controller reaches", "mgmt address"):
        table.add_column(col)
    for d in status.devices:
        table.add_row(d.name, d.platform, d.device_type, f"{d.host}:{d.port}", d.mgmt_address)
    Console().print(table)
    print(f"inventory: {status.inventory}")
    print("built in " + ", ".join(f"{k} {v:.2f}s" for k, v in status.timings.items()))


def _estate_up(inventory: Path | None, prefix: str | None, port_base: int | None, time_scale: float,
               sites: int, devices_per_site: int) -> None:
    """``lab up --sites N``: the copies one after the other, then the estate's inventory."""
    from egressctl_lab.estate import EstateLab

    try:
        estate = EstateLab(_inventory(inventory), sites, prefix=prefix or "eg-", port_base=port_base or 25100,
                           time_scale=time_scale, devices_per_site=devices_per_site)
        path = estate.up()
    except EgressError as exc:
        raise _fail(exc) from None
    per = f", {devices_per_site} devices each" if devices_per_site else ""
    print(f"estate of {sites} sites up (group estate{per})")
    print(f"inventory: {path}")


@lab_app.command()
def status(
    json_out: Annotated[bool, typer.Option("--json", help="print the machine-readable document")] = False,
    inventory: InventoryOpt = None,
) -> None:
    """Show every node (namespace, addresses) and every device (how the controller reaches it).

    With an estate up (``lab up --sites N``) and no ``--inventory``: one row per copy instead.
    """
    if inventory is None:
        from egressctl_lab.estate import running_estate

        doc = running_estate()
        if doc is not None:
            _estate_status(doc, json_out)
    try:
        st = _make(inventory).status()
    except EgressError as exc:
        raise _fail(exc) from None
    if json_out:
        print(json.dumps(st.to_dict(), indent=2))
        raise typer.Exit(0 if st.up else 1)
    state = "UP" if st.up else "DOWN"
    print(f"lab is {state} (mode {st.mode}, prefix {st.prefix}, time scale {st.time_scale})")
    from rich.console import Console
    from rich.table import Table

    nodes = Table(title="nodes")
    for col in ("node", "namespace", "role", "addresses"):
        nodes.add_column(col)
    for n in st.nodes:
        nodes.add_row(n.name, n.netns, n.role, " ".join(n.addresses))
    devices = Table(title="devices")
    for col in ("device", "platform", "netmiko", "host:port", "user", "credential", "mgmt"):
        devices.add_column(col)
    for d in st.devices:
        devices.add_row(d.name, d.platform, d.device_type, f"{d.host}:{d.port}", d.username, d.credential,
                        d.mgmt_address)
    Console().print(nodes, devices)
    raise typer.Exit(0 if st.up else 1)


def _estate_status(doc: dict[str, object], json_out: bool) -> None:
    """``lab status`` of an estate: each copy's site, devices, namespaces, up/down; exit 1 if one is down."""
    from egressctl_lab.estate import estate_status

    rows = estate_status(doc)
    up = bool(rows) and all(r["up"] and r["namespaces_present"] == r["namespaces"] for r in rows)
    if json_out:
        print(json.dumps({"estate": doc, "up": up, "copies": rows}, indent=2))
        raise typer.Exit(0 if up else 1)
    print(f"estate of {doc.get('sites')} sites is {'UP' if up else 'DOWN or PARTIAL'} "
          f"(prefix {doc.get('prefix')}, group estate, inventory {doc.get('inventory')})")
    from rich.console import Console
    from rich.table import Table

    table = Table(title="estate")
    for col in ("copy", "site", "state", "devices", "namespaces", "prefix", "ports"):
        table.add_column(col)
    for r in rows:
        ports = r.get("device_ports") or []
        span = f"{min(ports)}-{max(ports)}" if ports else "-"
        state = ("up" if r["up"] else "down") + (f" ({r['error']})" if r["error"] else "")
        table.add_row(str(r["copy"]), str(r["site"]), state, str(r["devices"]),
                      f"{r['namespaces_present']}/{r['namespaces']}", str(r["prefix"]), span)
    Console().print(table)
    print(f"{sum(int(r['devices']) for r in rows)} devices in {len(rows)} sites; "
          f"{sum(int(r['namespaces_present']) for r in rows)} namespaces present")
    raise typer.Exit(0 if up else 1)


@lab_app.command()
def down(inventory: InventoryOpt = None, prefix: PrefixOpt = None) -> None:
    """Stop every lab process and remove every namespace the lab created (an estate's copies too)."""
    from egressctl_lab.estate import EstateLab, running_estate

    doc = running_estate()
    if doc is not None:
        try:
            EstateLab(Path(doc["source"]), int(doc["sites"]), prefix=str(doc["prefix"]),
                      port_base=int(doc["port_base"]),
                      devices_per_site=int(doc.get("devices_per_site", 0))).down()
        except EgressError as exc:
            raise _fail(exc) from None
        print("estate is down")
        if inventory is None and prefix is None:
            return
    try:
        _make(inventory, prefix).down()
    except EgressError as exc:
        raise _fail(exc) from None
    print("lab is down")


@lab_app.command()
def restart(
    device: Annotated[str, typer.Argument(help="device to reboot, e.g. ce-b")],
    inventory: InventoryOpt = None,
) -> None:
    """Reboot one device: kill it as a power cut would and start it again from its saved configuration.

    Emulators keep a saved configuration only in a lab built with
    EGRESSCTL_LAB_EMU_CMD="python -m egressctl_lab.faultemu"; otherwise they come back factory-fresh.
    core-b (real Linux) comes back without its nftables ruleset. Root mode only.
    """
    try:
        seconds = _make(inventory).restart(device)
    except EgressError as exc:
        raise _fail(exc) from None
    print(f"{device} restarted in {seconds:.2f}s")


@lab_app.command(name="exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec_(
    node: Annotated[str, typer.Argument(help="lab node, e.g. ws1, srv1, inet, core-b")],
    command: Annotated[list[str], typer.Argument(help="command and arguments (after --)")],
) -> None:
    """Run a command inside a lab node: ``egressctl lab exec ws1 -- ping -c1 192.0.2.80``."""
    from egressctl_lab import node_exec_prefix

    try:
        argv = [*node_exec_prefix(node), *command]
    except LabError as exc:
        raise _fail(exc) from None
    os.execvp(argv[0], argv)  # noqa: S606 (argv, never a shell)
