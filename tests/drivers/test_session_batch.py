"""Batched session clears (issue 10 leftover): which filters :mod:`egressctl_drivers.common.session_batch`
may use, on the lab site's isolated policy, and each platform's fallback when a device refuses or ignores
a batch filter (its CLI differing from the documentation the emulators follow).

Each case is a risk a filter must never take: a kept session sharing the destination, a destination the
policy still permits on some port, an inside prefix, a merge reaching an allowed address or wider than the
bound; and the gain: hundreds of sessions to one command-and-control host end in one clear.
"""

from __future__ import annotations

import ipaddress
from typing import Any, cast

from egressctl_drivers.common import session_batch as B
from egressctl_drivers.common import sessions as S
from egressctl_drivers.fortinet import sessions as fsessions
from egressctl_drivers.juniper_junos import sessions as jsessions
from egressctl_drivers.linux_nftables import sessions as lsessions
from egressctl_drivers.paloalto_panos import sessions as psessions

from egressctl.errors import CommandRejected
from tests.drivers.test_sessions import INSIDE, ISOLATED, Shell, device, forti, junos, pan

V4 = [n for n in INSIDE if n.version == 4]


def _s(dst: str, proto: str = "tcp", dport: int | None = 9443, sport: int = 40000, *, src: str = "10.10.1.11",
       live: bool = True) -> S.Session:
    return S.Session("", proto, ipaddress.ip_address(src), ipaddress.ip_address(dst), sport, dport, live)


def guard(kept: list[S.Session] | None = None) -> B.Guard:
    return B.Guard(ISOLATED, V4, kept or [], B.avoided(INSIDE, ipaddress.ip_address("10.99.0.2")))


def test_a_hundred_sessions_to_one_host_end_in_one_clear() -> None:
    ended = [_s("192.0.2.80", dport=9000 + i % 7, sport=40000 + i) for i in range(100)]
    vpn = _s("203.0.113.10", "udp", 4500)
    p = B.plan(guard([vpn]), ended)
    assert p.filters == [B.Filter(ipaddress.ip_network("192.0.2.80/32"))] and p.singles == []


def test_a_kept_session_to_the_same_host_narrows_to_protocol_and_port_then_to_singles() -> None:
    ended = [_s("192.0.2.80", dport=9443, sport=1), _s("192.0.2.80", dport=9443, sport=2),
             _s("192.0.2.80", "udp", 53, sport=3)]
    closing = _s("192.0.2.80", dport=80, live=False)  # listed, not ended: the host as a whole is off limits
    p = B.plan(guard([closing]), ended)
    assert p.filters == [B.Filter(ipaddress.ip_network("192.0.2.80/32"), "tcp", 9443),
                         B.Filter(ipaddress.ip_network("192.0.2.80/32"), "udp", 53)]
    same_port = _s("192.0.2.80", dport=9443, sport=9, live=False)
    p = B.plan(guard([closing, same_port]), ended)
    assert [s.sport for s in p.singles] == [1, 2] and len(p.filters) == 1


def test_a_destination_the_policy_permits_on_some_port_is_never_cleared_whole() -> None:
    denied = [_s("203.0.113.10", dport=8443), _s("203.0.113.10", "udp", 9999)]
    p = B.plan(guard(), denied)
    # tcp/443 and udp/500,4500 stay allowed: only the denied protocol/port pairs are named
    assert p.filters == [B.Filter(ipaddress.ip_network("203.0.113.10/32"), "tcp", 8443),
                         B.Filter(ipaddress.ip_network("203.0.113.10/32"), "udp", 9999)]
    assert not guard().safe(B.Filter(ipaddress.ip_network("203.0.113.10/32"), "tcp", 443))
    assert not guard().safe(B.Filter(ipaddress.ip_network("203.0.113.10/32"), "udp", None))


def test_inside_prefixes_and_the_device_are_never_a_filter_destination() -> None:
    g = guard()
    assert not g.safe(B.Filter(ipaddress.ip_network("10.10.7.7/32")))
    assert not g.safe(B.Filter(ipaddress.ip_network("10.99.0.2/32")))
    assert not g.safe(B.Filter(ipaddress.ip_network("10.0.0.0/8")))
    assert g.safe(B.Filter(ipaddress.ip_network("192.0.2.80/32")))


def test_merges_stay_off_allowed_addresses_bounded_and_narrowed() -> None:
    ended = [_s(f"198.51.100.{i}") for i in (7, 9, 200)] + [_s("203.0.113.20"), _s("203.0.113.30")]
    p = B.plan(guard(), ended)
    nets = sorted(str(f.dst) for f in p.filters)
    # one prefix per cluster, no wider than its sessions need; the CERT's .10 and the DNS .53 stay out
    assert nets == ["198.51.100.0/24", "203.0.113.16/28"]
    assert all(f.dst.prefixlen >= B.WIDEST[4] for f in p.filters)
    far = B.plan(guard(), [_s("198.51.100.7"), _s("198.18.0.1")])
    assert sorted(str(f.dst) for f in far.filters) == ["198.18.0.1/32", "198.51.100.7/32"]  # beyond /16
    assert B.plan(guard(), ended, widen=False).commands() == 5


def test_outcome_counts_from_the_listing_after_and_warns_of_lost_allowed() -> None:
    ended = [_s("192.0.2.80", sport=1), _s("192.0.2.80", sport=2)]
    vpn = _s("203.0.113.10", "udp", 4500)
    allowed = B.allowed_live(ISOLATED, INSIDE, [*ended, vpn])
    assert allowed == {vpn.tuple_key()}
    assert B.outcome(ended, allowed, [ended[1], vpn])[0] == 1
    cleared, note = B.outcome(ended, allowed, [], B.Plan([B.Filter(ipaddress.ip_network("192.0.2.80/32"))]))
    assert cleared == 2
    assert note == "1 clears (1 filters, 0 single); WARNING 1 allowed sessions no longer listed"


# --- a device that refuses or ignores the batch filter: what it left is cleared one by one
def test_junos_refused_filter_falls_back_to_session_ids() -> None:
    cli, plane = junos()

    def run(command: str) -> str:
        if "destination-prefix" in command:
            raise CommandRejected("ce-b", "syntax error")
        return str(cli.handle(command).text)

    report = jsessions.clear(run, device("ce-b"), ISOLATED, INSIDE)
    assert (report.matched, report.cleared) == (2, 2)
    assert "2 left by the batch cleared one by one" in report.detail
    assert sorted(f.ct_id for f in plane.sessions.entries) == [13, 14, 15]


def test_panos_ignored_filter_falls_back_to_session_ids() -> None:
    cli, plane = pan("no")
    op = lambda command: "" if "filter from" in command and "clear" in command else str(  # noqa: E731
        cli.handle(command).text)
    report = psessions.clear(op, device("fw-a"), ISOLATED, INSIDE)
    assert (report.matched, report.cleared) == (2, 2) and "left by the batch" in report.detail
    assert sorted(f.ct_id for f in plane.sessions.entries) == [13, 14, 15]


def test_fortios_refused_filter_falls_back_to_exact_tuples() -> None:
    drv, plane = forti("check-new")
    plain = drv.send

    def send(command: str, **kw: Any) -> str:
        if "filter dst" in command and drv.sent[-1].endswith("10.10.255.255"):  # a batch's, not an exact one
            drv.sent.append(command)
            raise CommandRejected("fw-b", "Command fail")
        return plain(command, **kw)

    drv.send = send  # type: ignore[method-assign]
    report = fsessions.clear(cast(Any, drv), ISOLATED, INSIDE)
    assert (report.matched, report.cleared) == (2, 2) and "left by the batch" in report.detail
    assert sorted(f.ct_id for f in plane.sessions.entries) == [13, 14, 15]
    assert drv.sent[-1].endswith("filter clear")


def test_linux_ignored_masks_fall_back_to_exact_tuples() -> None:
    class OldConntrack(Shell):
        def __call__(self, command: str) -> str:
            if "--mask-src" in command:
                self.sent.append(command)
                return ""
            return super().__call__(command)

    shell = OldConntrack("table inet site {\n chain forward {\n  ct state established accept\n }\n}\n")
    report = lsessions.clear(shell, device("core-b"), ISOLATED, INSIDE)
    assert (report.matched, report.cleared) == (3, 3) and "3 left by the batch" in report.detail
    assert [x for x in shell.deleted if "TIME_WAIT" in x or "4500" in x or "10.10.1.50" in x] == []
