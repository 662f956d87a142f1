"""ICMP errors as Ethernet frames for the verification tests: related to an allowed flow, or leaking.

Shared by ``test_icmp_errors`` (the feature) and ``test_parsers`` (every engine equal to the reference on
these frames, cut short and mutated too). Addresses come from the capture generator's site: an allowed
flow is drawn from its pools and checked with the matcher, so the frames follow the policy they are
judged against.
"""

from __future__ import annotations

import ipaddress

from egressctl_lab.testing.capture_traffic import Model
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.inet6 import (
    ICMPv6DestUnreach,
    ICMPv6EchoRequest,
    ICMPv6PacketTooBig,
    ICMPv6TimeExceeded,
    IPv6,
)
from scapy.layers.l2 import Dot1Q, Ether

from egressctl.verify.matcher import LEAK, CompiledPolicy

E = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
Frames = list[tuple[bytes, int | None]]  # Ethernet frame, VLAN id the kernel stripped (None: none)
DENIED4, DENIED6 = "100.1.2.3", "2001:db9::5"  # never allowed by the generator's site
#: The generator's site drawn with this seed has allowed IPv6 flows whose own ICMP would leak (with seed 1,
#: stage s2 allows anything to 2001:db8::/32, so an ICMPv6 error there is permitted by its header).
SITE_SEED = 2


def allowed_flow(cp: CompiledPolicy, fam: int, proto: int,
                 seed: int = SITE_SEED) -> tuple[str, str, int, int]:
    """(inside host, outside host, inside port, outside port) of an allowed flow whose ICMP would leak."""
    model = Model(seed, 210)
    pool = model.pools[(fam, proto)]
    host = model.hosts4[3] if fam == 4 else model.hosts6[3]
    for lo, plo in zip(pool.lo, pool.plo, strict=True):
        if cp.code(fam, proto, host, lo, 40000, plo) >= 0 and cp.code(fam, "icmp", host, lo) == LEAK:
            return str(ipaddress.ip_address(host)), str(ipaddress.ip_address(lo)), 40000, plo
    raise AssertionError("no allowed flow in the generator's site")


def samples(cp: CompiledPolicy, seed: int = SITE_SEED) -> tuple[Frames, Frames]:
    """(related errors, leaking ICMP packets) as Ethernet frames, each with a VLAN id the kernel stripped."""
    h4, o4, sp4, dp4 = allowed_flow(cp, 4, 17, seed)
    t4, ot4, spt4, dpt4 = allowed_flow(cp, 4, 6, seed)
    h6, o6, sp6, dp6 = allowed_flow(cp, 6, 6, seed)
    router4, router6 = "10.200.0.1", "fd00:200::1"
    q4 = IP(src=o4, dst=h4) / UDP(sport=dp4, dport=sp4)  # the inbound datagram of the allowed flow
    q4t = bytes(IP(src=ot4, dst=t4) / TCP(sport=dpt4, dport=spt4))[:28]  # 8 bytes of transport (RFC 792)
    q6 = bytes(IPv6(src=o6, dst=h6) / TCP(sport=dp6, dport=sp6))[:48]
    related = [
        (E / IP(src=h4, dst=o4) / ICMP(type=3, code=3) / q4, None),             # port unreachable, host
        (E / IP(src=router4, dst=o4) / ICMP(type=3, code=4) / q4, None),        # frag needed, router
        (E / Dot1Q(vlan=9) / IP(src=router4, dst=ot4) / ICMP(type=11) / q4t, None),  # in-frame tag
        (E / IP(src=h4, dst=o4) / ICMP(type=12) / q4, 5),                       # tag the kernel stripped
        (E / IPv6(src=router6, dst=o6) / ICMPv6PacketTooBig(mtu=1280) / q6, None),
        (E / Dot1Q(vlan=12) / IPv6(src=h6, dst=o6) / ICMPv6DestUnreach(code=4) / q6, None),
        (E / IPv6(src=router6, dst=o6) / ICMPv6TimeExceeded() / q6, 4095),
    ]
    denied = [
        (E / IP(src=h4, dst=DENIED4) / ICMP(type=3, code=3) / IP(src=DENIED4, dst=h4) / UDP(sport=53,
                                                                                          dport=sp4), None),
        (E / Dot1Q(vlan=9) / IPv6(src=h6, dst=DENIED6) / ICMPv6PacketTooBig() / IPv6(src=DENIED6, dst=h6)
         / TCP(sport=443, dport=sp6), None),
        # the allowed flow quoted as it leaves (an error about it never goes out): not this error's quote
        (E / IP(src=h4, dst=o4) / ICMP(type=3, code=3) / IP(src=h4, dst=o4) / UDP(sport=sp4, dport=dp4), 7),
        # quoted from a host other than the error's destination
        (E / IP(src=h4, dst=o4) / ICMP(type=3) / IP(src=DENIED4, dst=h4) / UDP(sport=dp4, dport=sp4), None),
        # cut short inside the quoted ports
        (bytes(E / IP(src=h4, dst=o4) / ICMP(type=3) / q4)[:14 + 20 + 8 + 20 + 3], None),
        # echo: not an error, judged by its own header as always
        (E / IP(src=h4, dst=o4) / ICMP(type=8) / q4, None),
        (E / IPv6(src=h6, dst=o6) / ICMPv6EchoRequest() / q6, None),
        # a non-first fragment quoted: no ports to judge the flow by
        (E / IP(src=h4, dst=o4) / ICMP(type=11) / IP(src=o4, dst=h4, frag=100, proto=17) / (b"\0" * 8), None),
    ]
    return [(bytes(f), v) for f, v in related], [(bytes(f), v) for f, v in denied]


def tagged(frame: bytes, vlan: int | None) -> bytes:
    """The frame as an offline capture holds it: a tag the kernel stripped put back into the frame."""
    if vlan is None:
        return frame
    return frame[:12] + b"\x81\x00" + vlan.to_bytes(2, "big") + frame[12:]
