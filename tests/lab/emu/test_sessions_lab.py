"""What each emulated platform does to an established session when a policy change denies it (ISSUE 10).

Real packets through the lab (namespaces ``sk-*``): a client in ws1 or srv1 holds a TCP session open to the
lab internet (a line every 0.2 s) through one device, the device's policy is changed to deny it with the
vendor's own CLI over netmiko, and the session either dies at once (the device re-checks it) or keeps going
until the vendor's clear command ends it. Each platform is shown at its default and with the setting that
changes it:

* FortiOS: ``firewall-session-dirty check-all`` (default) -> dropped; ``check-new`` -> kept until cleared;
* PAN-OS: Rematch Sessions on (default) -> dropped; ``rematch-sessions no`` -> kept until cleared;
* Junos: kept (default) until cleared; ``policy-rematch`` -> dropped when the session's policy is modified,
  still kept when a deny is only inserted above it;
* Linux (core-b, a real box): no connection tracking -> every packet meets the new rule; with a site's
  stateful ruleset the inbound half of a denied flow is kept until its conntrack entry is deleted.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.labkit import running_lab
from tests.support.sessions_kit import (
    ECHO_TCP,
    PUSH_UDP,
    WEB,
    Flows,
    connect,
    flow_specs,
    held,
    in_ns,
    servers,
)

pytestmark = [pytest.mark.lab, pytest.mark.slow]
TCP = {"c2-tcp": f"tcp:{WEB}:{ECHO_TCP}"}
DEAD_WITHIN = 2.0  # seconds after the change
KEPT_FOR = 3.0


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_lab(tmp_path_factory, "sk-", 24200) as instance, servers(instance):
        yield instance


def dies(flows: Flows, since: float, name: str = "c2-tcp") -> float:
    """Assert the flow stops answering within DEAD_WITHIN s of ``since``; returns its last reply's time."""
    when = flows.died_within(name, since, DEAD_WITHIN)
    assert when is not None and when <= DEAD_WITHIN, f"the denied flow {name} kept answering"
    return when


def dropped(flows: Flows, since: float, label: str) -> None:
    """The change itself ended the session."""
    print(f"\n{label}: dropped, last reply {dies(flows, since):+.2f} s after the change began")


def kept_then_cleared(flows: Flows, clear: Callable[[], None], label: str, name: str = "c2-tcp") -> None:
    """The session survives the change, then the vendor's clear command ends it."""
    assert flows.kept_for(KEPT_FOR, name), f"{label}: the session must be kept"
    since = time.monotonic()
    clear()
    print(f"\n{label}: kept {KEPT_FOR:.0f} s; last reply {dies(flows, since, name):+.2f} s after the clear")


# --- FortiOS (fw-b, on srv1's path) ---------------------------------------------------------------
FORTI_DENY = ["config firewall address", 'edit "sk-c2"', f"set subnet {WEB} 255.255.255.255", "next", "end",
              "config firewall policy", "edit 90", "set srcintf port2", "set dstintf port1",
              'set srcaddr "all"', 'set dstaddr "sk-c2"', 'set schedule "always"', 'set service "ALL"',
              "set action deny", "next", "move 90 before 1", "end"]
FORTI_CLEAR = ["diagnose sys session filter clear", f"diagnose sys session filter dst {WEB}",
               f"diagnose sys session filter dport {ECHO_TCP}", "diagnose sys session clear",
               "diagnose sys session filter clear"]
FORTI_UNDO = ["config firewall policy", "delete 90", "end",
              "config firewall address", 'delete "sk-c2"', "end",
              "config system settings", "unset firewall-session-dirty", "end"]


@pytest.mark.parametrize("dirty", ["check-all", "check-new"])
def test_fortios_firewall_session_dirty(lab: Any, dirty: str) -> None:
    conn = connect(lab, "fw-b")
    try:
        conn.send_config_set(["config system settings", f"set firewall-session-dirty {dirty}", "end"])
        with held(lab, "srv1", TCP) as flows:
            since = time.monotonic()
            conn.send_config_set(FORTI_DENY)
            if dirty == "check-all":
                dropped(flows, since, "FortiOS check-all")
                return
            assert f"->{WEB}:{ECHO_TCP}(" in conn.send_command("diagnose sys session list")
            kept_then_cleared(flows, lambda: conn.send_config_set(FORTI_CLEAR), "FortiOS check-new")
    finally:
        conn.send_config_set(FORTI_UNDO)
        conn.disconnect()


# --- PAN-OS (fw-a, on ws1's path) -----------------------------------------------------------------
def pan_config(conn: Any, lines: list[str]) -> None:
    conn.send_command("configure", expect_string=r"#")
    for line in lines:
        out = conn.send_command(line, expect_string=r"#")
        assert "Invalid" not in out and "Error" not in out, out
    out = conn.send_command("commit", expect_string=r"100%", read_timeout=60)
    conn.send_command("exit", expect_string=r">")
    assert "committed successfully" in out or "100%" in out


PAN_DENY = ["set rulebase security rules sk-cut from trust to untrust source any destination "
            f"{WEB} application any service any action deny", "move rulebase security rules sk-cut top"]
PAN_UNDO = ["delete rulebase security rules sk-cut", "delete deviceconfig setting session rematch-sessions"]


@pytest.mark.parametrize("rematch", ["yes", "no"])
def test_panos_rematch_sessions(lab: Any, rematch: str) -> None:
    conn = connect(lab, "fw-a")
    try:
        if rematch == "no":
            pan_config(conn, ["set deviceconfig setting session rematch-sessions no"])
        with held(lab, "ws1", TCP) as flows:
            since = time.monotonic()
            pan_config(conn, PAN_DENY)
            if rematch == "yes":
                dropped(flows, since, "PAN-OS rematch")
                return
            listed = conn.send_command(f"show session all filter destination {WEB} "
                                       f"destination-port {ECHO_TCP}")
            session_id = next(ln.split()[0] for ln in listed.splitlines() if "/trust/6" in ln)

            def clear() -> None:
                assert "cleared" in conn.send_command(f"clear session id {session_id}")

            kept_then_cleared(flows, clear, "PAN-OS rematch off")
    finally:
        pan_config(conn, PAN_UNDO)
        conn.disconnect()


# --- Junos (ce-b, on srv1's path) -----------------------------------------------------------------
CTX = "security policies from-zone trust to-zone untrust policy"
JUNOS_INSERT = ["set security address-book global address sk-c2 192.0.2.80/32",
                f"set {CTX} sk-cut match source-address any destination-address sk-c2 application any",
                f"set {CTX} sk-cut then deny", f"insert {CTX} sk-cut before policy trust-to-untrust"]
JUNOS_MODIFY = [f"set {CTX} trust-to-untrust then deny"]
JUNOS_UNDO = [f"delete {CTX} sk-cut", "delete security address-book global address sk-c2",
              f"set {CTX} trust-to-untrust then permit", "delete security policies policy-rematch"]


def junos_commit(conn: Any, lines: list[str]) -> None:
    conn.send_config_set(lines, exit_config_mode=False)
    assert "commit complete" in conn.commit()
    conn.exit_config_mode()


@pytest.mark.parametrize(("rematch", "change", "kept"), [
    (False, JUNOS_INSERT, True),  # the default: the SRX keeps the session until it is cleared
    (True, JUNOS_INSERT, True),  # policy-rematch: a deny inserted above an untouched policy is not a rematch
    (True, JUNOS_MODIFY, False),  # policy-rematch: the session's own policy changed -> looked up again
])
def test_junos_policy_rematch(lab: Any, rematch: bool, change: list[str], kept: bool) -> None:
    conn = connect(lab, "ce-b")
    try:
        if rematch:
            junos_commit(conn, ["set security policies policy-rematch"])
        with held(lab, "srv1", TCP) as flows:
            since = time.monotonic()
            junos_commit(conn, change)
            if not kept:
                dropped(flows, since, "Junos policy-rematch, the session's policy modified")
                return
            listed = conn.send_command(f"show security flow session destination-port {ECHO_TCP}")
            session_id = listed.split("Session ID: ")[1].split(",")[0]

            def clear() -> None:
                cleared = conn.send_command(f"clear security flow session session-identifier {session_id}")
                assert cleared.strip() == "1 active sessions cleared"

            label = "Junos policy-rematch, deny inserted above" if rematch else "Junos"
            kept_then_cleared(flows, clear, label)
    finally:
        junos_commit(conn, JUNOS_UNDO)
        conn.disconnect()


# --- Linux (core-b, srv1's gateway; the real kernel) ---------------------------------------------
#: egressctl's table as the Linux driver renders it: a forward chain at priority -10 judging every packet.
EGRESSCTL_LIKE = f"""table inet sk_cut {{
  chain forward {{
    type filter hook forward priority -10; policy accept;
    iifname "lan0" oifname "tb1" ip daddr {WEB} drop
  }}
}}
"""
#: A site's own stateful ruleset: established flows accepted, new ones only from the LAN.
SITE_STATEFUL = """table inet sk_site {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "lan0" accept
  }
}
"""


def nft(lab: Any, script: str) -> None:
    out = in_ns(lab, "core-b", "nft", "-f", "-", stdin=script)
    assert "Error" not in out, out


@pytest.mark.parametrize("stateful", [False, True])
def test_linux_conntrack(lab: Any, stateful: bool) -> None:
    specs = {**TCP, "c2-push": f"push:{WEB}:{PUSH_UDP}"}
    try:
        if stateful:
            nft(lab, SITE_STATEFUL)
        else:
            in_ns(lab, "core-b", "conntrack", "-F")  # entries an earlier stateful run left (they outlive it)
        with held(lab, "srv1", specs) as flows:
            since = time.monotonic()
            nft(lab, EGRESSCTL_LIKE)
            dies(flows, since)  # outbound packets meet the drop at once, tracked or not
            tracked = in_ns(lab, "core-b", "conntrack", "-L", "-d", WEB)
            if not stateful:
                # No ruleset needs tracking: there is no session table, and egressctl's rules govern what
                # leaves the site (datagrams arriving unasked are the site's own ruleset's business).
                assert f"dport={ECHO_TCP}" not in tracked
                print("\nLinux without tracking: the denied TCP session stops at its next packet; no entry")
                return
            assert f"dport={ECHO_TCP}" in tracked and f"dport={PUSH_UDP}" in tracked
            delete = ("conntrack", "-D", "-p", "udp", "-d", WEB, "--dport", str(PUSH_UDP))

            def clear() -> None:
                assert "1 flow entries have been deleted" in in_ns(lab, "core-b", *delete)

            kept_then_cleared(flows, clear, "Linux with a stateful site ruleset, the inbound half", "c2-push")
    finally:
        nft(lab, "".join(f"table inet {t}\ndelete table inet {t}\n" for t in ("sk_cut", "sk_site")))


def test_flows_ride_the_expected_paths(lab: Any) -> None:
    """Sanity: ws1 and srv1 reach the servers with every flow of the kit before anything is cut."""
    for node in ("ws1", "srv1"):
        with held(lab, node, flow_specs(push=node == "srv1")) as flows:
            assert all(flows.alive(n) for n in flows.names)
