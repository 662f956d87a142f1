"""Beacon report: ranking, CSV and JSON."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from egressctl.verify.beacon import CSV_HEADER, BeaconReport


def flow(src: str, dst: str, dport: int, packets: int, proto: int = 6) -> dict[str, object]:
    return {
        "family": 4,
        "proto": proto,
        "src": src,
        "dst": dst,
        "sport": 40000,
        "dport": dport,
        "packets": packets,
        "bytes": packets * 60,
        "first_ns": 10,
        "last_ns": 20,
    }


def test_hosts_ranked_by_packets(tmp_path: Path) -> None:
    rep = BeaconReport.from_flows(
        [
            flow("10.10.1.11", "192.0.2.80", 443, 5),
            flow("10.10.1.12", "192.0.2.80", 80, 50),
            flow("10.10.1.11", "198.51.100.53", 53, 7, 17),
            flow("10.10.1.11", "192.0.2.80", 443, 1),
        ],
        "isolated",
    )
    assert [b.host for b in rep.beacons] == ["10.10.1.12", "10.10.1.11"]
    top = rep.beacons[1]
    assert top.packets == 13 and top.destinations == 2
    assert [(t.dst, t.proto, t.dport, t.packets) for t in top.targets] == [
        ("198.51.100.53", "udp", 53, 7),
        ("192.0.2.80", "tcp", 443, 6),
    ]
    path = tmp_path / "b.csv"
    text = rep.to_csv(path)
    rows = list(csv.reader(io.StringIO(path.read_text())))
    assert rows[0] == CSV_HEADER and len(rows) == 4 and text == path.read_bytes().decode()
    assert rows[1][:2] == ["1", "10.10.1.12"]
    doc = rep.to_dict()
    assert doc["hosts"] == 2 and doc["beacons"][0]["host"] == "10.10.1.12"
    assert "1. 10.10.1.12: 50 packets" in rep.text()


def test_empty() -> None:
    rep = BeaconReport.from_flows([], "isolated")
    assert rep.rows() == [] and "no inside host" in rep.text()
