"""The SSH path of a device or vantage point: the inventory merged with ssh_config (paramiko.SSHConfig).

Pure: no connection is made. What is checked is the precedence the docs state (inventory, then ssh_config,
then defaults), that every ProxyJump hop must be pinned in the site's jump_hosts, and which ssh_config
file is in effect.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from egressctl.inventory.loader import parse_inventory
from egressctl.inventory.models import Site
from egressctl.ssh.route import RouteError, device_route, parse_jump, vantage_route
from tests.support.engine_double import inventory_yaml

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJFqmyvplbwGX28UwMlT/Yd4A7bb9Ikqe9ewOYRdZ8oG"
OTHER = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINrT6cctQXuGrkKX9L+8XQyWCl8+4rziQbgEkFGytD4M"


def _site(tmp_path: Path, config: str | None, *, site_extra: str = "", device_extra: str = "",
          jumps: str = "") -> Site:
    """Two devices (dev1 with ``device_extra``), ``config`` as the site's ssh_config, ``jumps`` listed.

    The devices write no port, so ssh_config's applies.
    """
    text = re.sub(r"(?m)^ +port: \d+\n", "", inventory_yaml(devices=2))
    if config is not None:
        path = tmp_path / "ssh_config"
        path.write_text(textwrap.dedent(config))
        site_extra = f"    ssh_config: {path}\n" + site_extra
    if jumps:
        site_extra += "    jump_hosts:\n" + textwrap.indent(textwrap.dedent(jumps), "      ")
    text = text.replace("    devices:\n", site_extra + "    devices:\n", 1)
    first = "        mgmt_address: 10.99.0.1\n"
    text = text.replace(first, first + textwrap.indent(textwrap.dedent(device_extra), "        "), 1)
    return parse_inventory(text, "t.yaml").site("hq")



def test_no_config_is_a_direct_connection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ssh/config
    route = device_route(_site(tmp_path, None).device("dev1"))
    assert (route.target.host, route.target.port, route.target.username) == ("127.0.0.1", 22, "admin")
    assert route.hops == () and route.proxy_command is None and route.config_file is None


def test_default_is_the_users_ssh_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text("Host 127.0.0.1\n  HostName 10.0.0.9\n  Port 2200\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    route = device_route(_site(tmp_path, None).device("dev1"))
    assert (route.target.host, route.target.port) == ("10.0.0.9", 2200)
    none = _site(tmp_path, None, site_extra="    ssh_config: none\n")
    assert device_route(none.device("dev1")).target.host == "127.0.0.1"


def test_hostname_port_identity_come_from_ssh_config_user_never_for_a_device(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    key.write_text("not read here")
    site = _site(tmp_path, f"""
        Host 127.0.0.1
          HostName fw1.example.net
          Port 2022
          User someone-else
          IdentityFile {tmp_path}/missing
          IdentityFile {key}
        """)
    target = device_route(site.device("dev1")).target
    assert (target.host, target.port, target.username) == ("fw1.example.net", 2022, "admin")
    assert target.identity_file == str(key), "the first IdentityFile that exists"


def test_a_port_written_in_the_inventory_wins(tmp_path: Path) -> None:
    site = _site(tmp_path, "Host 127.0.0.1\n  Port 2022\n", device_extra="port: 2300\n")
    assert device_route(site.device("dev1")).target.port == 2300
    assert device_route(site.device("dev2")).target.port == 2022


def test_a_key_credential_is_not_mixed_with_identity_file(tmp_path: Path) -> None:
    (tmp_path / "id").write_text("x")
    site = _site(tmp_path, f"Host *\n  IdentityFile {tmp_path}/id\n")
    dev = site.device("dev1").model_copy(update={"credential": f"key:{tmp_path}/id"})
    assert device_route(dev).target.identity_file is None


def test_proxyjump_takes_the_pinned_jump_host(tmp_path: Path) -> None:
    site = _site(tmp_path, """
        Host bastion
          HostName 192.0.2.10
          Port 2222
          User jumper
        Host 127.0.0.1
          ProxyJump bastion
        """, jumps=f"- name: bastion\n  host_key: {KEY}\n")
    route = device_route(site.device("dev1"))
    (hop,) = route.hops
    assert (hop.host, hop.port, hop.username, hop.host_key) == ("192.0.2.10", 2222, "jumper", KEY)
    assert hop.jump is not None and hop.jump.name == "bastion"
    assert route.target.host == "127.0.0.1" and route.target.host_key == site.device("dev1").host_key
    assert "via jump host bastion (192.0.2.10:2222)" in route.describe()


def test_proxyjump_user_and_port_win_then_the_inventory(tmp_path: Path) -> None:
    config = ("Host 127.0.0.1\n  ProxyJump ops@bastion.example:2200\n"
              "Host bastion.example\n  User cfg\n  Port 1\n")
    jumps = f"- name: noc\n  host: bastion.example\n  port: 2022\n  username: inv\n  host_key: {KEY}\n"
    site = _site(tmp_path, config, jumps=jumps)
    (hop,) = device_route(site.device("dev1")).hops
    assert (hop.host, hop.port, hop.username) == ("bastion.example", 2200, "ops"), "found by its host"


def test_an_unpinned_proxyjump_is_refused(tmp_path: Path) -> None:
    site = _site(tmp_path, "Host 127.0.0.1\n  ProxyJump rogue\n",
                 jumps=f"- name: bastion\n  host_key: {KEY}\n")
    with pytest.raises(RouteError, match=r"jump host 'rogue' .*has no pinned host key.*jump_hosts"):
        device_route(site.device("dev1"))


def test_chains_are_followed_hop_by_hop(tmp_path: Path) -> None:
    site = _site(tmp_path, """
        Host inner
          HostName 10.0.0.2
          ProxyJump outer
        Host outer
          HostName 198.51.100.7
          ProxyCommand /usr/bin/nc -X connect -x proxy:3128 %h %p
        Host 127.0.0.1
          ProxyJump inner
        """, jumps=f"- name: inner\n  host_key: {KEY}\n- name: outer\n  host_key: {OTHER}\n")
    route = device_route(site.device("dev1"))
    assert [h.label for h in route.hops] == ["jump host outer", "jump host inner"]
    assert route.proxy_command == "/usr/bin/nc -X connect -x proxy:3128 198.51.100.7 22"
    comma = _site(tmp_path, "Host 127.0.0.1\n  ProxyJump outer,inner\n",
                  jumps=f"- name: inner\n  host_key: {KEY}\n- name: outer\n  host_key: {OTHER}\n")
    hops = device_route(comma.device("dev1")).hops
    assert [h.label for h in hops] == ["jump host outer", "jump host inner"]


def test_a_proxyjump_loop_stops(tmp_path: Path) -> None:
    site = _site(tmp_path, "Host a\n  ProxyJump b\nHost b\n  ProxyJump a\nHost 127.0.0.1\n  ProxyJump a\n",
                 jumps=f"- name: a\n  host_key: {KEY}\n- name: b\n  host_key: {KEY}\n")
    with pytest.raises(RouteError, match="longer than"):
        device_route(site.device("dev1"))


def test_proxycommand_without_a_jump(tmp_path: Path) -> None:
    site = _site(tmp_path, "Host 127.0.0.1\n  ProxyCommand ssh -W %h:%p gw\n  Port 2022\n")
    route = device_route(site.device("dev1"))
    assert route.hops == () and route.proxy_command == "ssh -W 127.0.0.1:2022 gw"


def test_the_inventorys_jump_wins_over_ssh_config(tmp_path: Path) -> None:
    site = _site(tmp_path, "Host 127.0.0.1\n  ProxyJump rogue\nHost noc\n  HostName 192.0.2.10\n",
                 device_extra="jump: noc\n", jumps=f"- name: noc\n  username: ops\n  host_key: {KEY}\n")
    (hop,) = device_route(site.device("dev1")).hops
    assert (hop.host, hop.username) == ("192.0.2.10", "ops")
    with pytest.raises(RouteError, match="rogue"):
        device_route(site.device("dev2"))


def test_a_devices_own_ssh_config_wins_and_a_missing_one_is_an_error(tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.write_text("Host 127.0.0.1\n  HostName 10.9.9.9\n")
    site = _site(tmp_path, "Host 127.0.0.1\n  HostName 10.1.1.1\n", device_extra=f"ssh_config: {own}\n")
    assert device_route(site.device("dev1")).target.host == "10.9.9.9"
    assert device_route(site.device("dev2")).target.host == "10.1.1.1"
    gone = _site(tmp_path, None, device_extra=f"ssh_config: {tmp_path}/nope\n")
    with pytest.raises(RouteError, match="does not exist"):
        device_route(gone.device("dev1"))


def test_an_unknown_jump_name_is_an_inventory_error(tmp_path: Path) -> None:
    from egressctl.errors import InventoryError

    with pytest.raises(InventoryError, match=r"devices\[dev1\]\.jump: jump host 'nope' is not in the site"):
        _site(tmp_path, None, device_extra="jump: nope\n")


def test_vantage_point_user_port_and_pin(tmp_path: Path) -> None:
    text = inventory_yaml(devices=1).replace("    devices:\n", f"""    ssh_config: {tmp_path}/cfg
    jump_hosts:
      - name: bastion
        host_key: {KEY}
    vantage_points:
      - name: probe
        exit: primary
        ssh_host: probe-lan
        host_key: {OTHER}
        addresses: [10.10.1.20]
    devices:
""", 1)
    (tmp_path / "cfg").write_text("Host probe-lan\n  HostName 10.10.1.20\n  User probe\n  Port 2202\n"
                                  "  ProxyJump bastion\n")
    vp = parse_inventory(text, "t.yaml").site("hq").vantage_points[0]
    route = vantage_route(vp)
    assert (route.target.host, route.target.port, route.target.username) == ("10.10.1.20", 2202, "probe")
    assert route.target.host_key == OTHER and [h.label for h in route.hops] == ["jump host bastion"]


@pytest.mark.parametrize(("token", "parsed"), [
    ("bastion", (None, "bastion", None)),
    ("ops@bastion:2200", ("ops", "bastion", 2200)),
    ("ssh://ops@[2001:db8::1]:22", ("ops", "2001:db8::1", 22)),
    ("2001:db8::1", (None, "2001:db8::1", None)),
])
def test_parse_jump(token: str, parsed: tuple[str | None, str, int | None]) -> None:
    assert parse_jump(token) == parsed


def test_include_is_followed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """paramiko skips Include; engineers keep their site's hosts in included files, so it is inlined."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh" / "config.d").mkdir(parents=True)
    (tmp_path / ".ssh" / "config.d" / "chn.conf").write_text(
        "Host bastion\n  HostName 192.0.2.10\nHost 127.0.0.1\n  ProxyJump bastion\n  Port 2022\n")
    (tmp_path / ".ssh" / "config").write_text("Include config.d/*.conf\nHost *\n  User me\n")
    site = _site(tmp_path, None, jumps=f"- name: bastion\n  host_key: {KEY}\n")
    route = device_route(site.device("dev1"))
    assert route.target.port == 2022 and [h.host for h in route.hops] == ["192.0.2.10"]
    (tmp_path / ".ssh" / "config").write_text("Include config\n")
    with pytest.raises(RouteError, match="nested deeper"):
        device_route(site.device("dev1"))
