"""``verify --junit FILE``: each matrix expectation, watch verdict and capture verdict is a JUnit case."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.utils import wrpcap

from egressctl.cli import junit
from tests.egressctl.cli.test_harness import Cli, fake_active, fake_watch, leak_capture, make_cli


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    return make_cli(tmp_path, monkeypatch, vantage=True)


def cases(path: Path) -> list[ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert len(suites) == 1
    s = suites[0]
    found = s.findall("testcase")
    assert int(s.get("tests", "")) == len(found) == int(root.get("tests", ""))
    assert int(s.get("failures", "")) == sum(c.find("failure") is not None for c in found)
    assert int(s.get("errors", "")) == sum(c.find("error") is not None for c in found)
    assert all(c.get("classname") and c.get("name") and c.get("time") for c in found)
    return found


def failed(found: list[ET.Element]) -> dict[str, ET.Element]:
    return {str(c.get("name")): f for c in found if (f := c.find("failure")) is not None}


def test_capture_with_a_leak(cli: Cli, tmp_path: Path) -> None:
    report = tmp_path / "verify.xml"
    res = cli("verify", "hq", "--pcap", str(leak_capture(tmp_path / "leak.pcap")), "--stage", "isolated",
              "--junit", str(report))
    assert res.exit_code == 3
    found = cases(report)
    assert len(found) == 3
    bad = failed(found)
    # one leaking packet and nothing allowed: a leak, and not proven to be the site's link either
    assert list(bad) == [f"{tmp_path / 'leak.pcap'}: no leak", f"{tmp_path / 'leak.pcap'}: site traffic seen"]
    leak = bad[f"{tmp_path / 'leak.pcap'}: no leak"]
    assert leak.get("type") == "leak"
    assert "2001:db8:100:1234::10:40000 -> 2001:100::1:443 tcp (1 packets)" in (leak.text or "")


def test_clean_capture_passes(cli: Cli, tmp_path: Path) -> None:
    dns = (Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") / IP(src="10.10.0.5", dst="203.0.113.53")
           / UDP(sport=40000, dport=53))
    wrpcap(str(tmp_path / "clean.pcap"), [dns])
    report = tmp_path / "verify.xml"
    res = cli("verify", "hq", "--pcap", str(tmp_path / "clean.pcap"), "--stage", "isolated", "--junit",
              str(report), "--json")
    assert res.exit_code == 0, res.output
    assert failed(cases(report)) == {}


def test_active_one_case_per_expectation(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_active(monkeypatch)
    report = tmp_path / "verify.xml"
    res = cli("verify", "hq", "--stage", "isolated", "--junit", str(report), "--json")
    assert res.exit_code == 3
    doc = json.loads(res.stdout)
    found = cases(report)
    assert len(found) == len(doc["matrix"])
    problems = [row for row in doc["matrix"] if row["problem"]]
    bad = failed(found)
    assert len(bad) == len(problems) >= 1
    for f in bad.values():
        assert f.get("type") in ("leak", "blocked-allowed")
        assert "[bold]:100:" in (f.text or "")  # the probe's own words, verbatim
    assert all(str(c.get("classname")).startswith("egressctl.verify.hq.ws1") for c in found)


def test_watch_cases_per_capture_point(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_watch(monkeypatch)
    report = tmp_path / "verify.xml"
    res = cli("verify", "hq", "--watch", "2", "--stage", "isolated", "--junit", str(report))
    assert res.exit_code == 3
    found = cases(report)
    names = {(c.get("classname"), c.get("name")) for c in found}
    assert ("egressctl.watch.hq.primary (isp1:ce0)", "no leak") in names
    assert ("egressctl.watch.hq.primary (isp1:ce0)", "every packet verified") in names
    errors = [c.find("error") for c in found if c.find("error") is not None]
    assert len(errors) == 1 and "[bold]no such device[/bold]" in (errors[0].text or "")  # type: ignore[union-attr]
    leak = failed(found)["no leak"]
    assert "2001:db8:100:1234::10:40000 -> 2001:100::1:443" in (leak.text or "")


def test_text_xml_cannot_carry_is_replaced() -> None:
    suite = junit.Suite("s", [junit.Case("c", "n", failure=("leak", "bad\x1b[31m", "out\x00put"))])
    root = ET.fromstring(junit.to_xml([suite]))
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == "bad\ufffd[31m" and failure.text == "out\ufffdput"
