"""Data is never rendered as markup: addresses and device text come out byte for byte, JSON and terminal.

``2001:100::1/128`` once printed as ``2001💯:1/128`` (Rich's ``:100:`` emoji code), ``:1234:`` as 🔢, an
inventory error on line 100 lost its ``file:100:``, and a device's ``[bold]`` would have been styling.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from egressctl.errors import CommitError, ConnectError
from tests.egressctl.cli.test_harness import (
    DEVICE_TEXT,
    DIFF_HOST,
    DIFF_NET,
    HOST,
    NET,
    Cli,
    fake_active,
    fake_watch,
    leak_capture,
    make_cli,
)
from tests.support.engine_double import inventory_yaml

EMOJI = ("💯", "🔢")


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    return make_cli(tmp_path, monkeypatch)


def no_emoji(*texts: str) -> bool:
    return not any(e in t for t in texts for e in EMOJI)


def test_plan_keeps_addresses_in_json_and_terminal(cli: Cli) -> None:
    raw = cli("plan", "hq", "--to", "isolated", "--json")
    doc = json.loads(raw.stdout)
    assert all(DIFF_HOST in d["diff"] and DIFF_NET in d["diff"] for d in doc["devices"])
    human = cli("plan", "hq", "--to", "isolated")
    assert human.exit_code == 0, human.output
    lines = human.stdout.splitlines()
    assert f"  {DIFF_HOST}" in lines and f"  {DIFF_NET}" in lines
    assert no_emoji(raw.stdout, human.stdout)


def test_unreadable_device_text_is_verbatim(cli: Cli) -> None:
    cli.net.fail[("dev2", "open")] = ConnectError("dev2", DEVICE_TEXT)
    doc = cli.json("plan", "hq", "--to", "isolated")
    assert {d["device"]: d["error"] for d in doc["devices"]}["dev2"] == f"dev2: {DEVICE_TEXT}"
    human = cli("plan", "hq", "--to", "isolated")
    assert f"  could not read state: dev2: {DEVICE_TEXT}" in human.stdout.splitlines()
    dry = cli.lines("isolate", "hq", "--dry-run")
    plan = dry[-1]["plan"]
    assert {d["device"]: d["error"] for d in plan["devices"]}["dev2"] == f"dev2: {DEVICE_TEXT}"
    assert no_emoji(human.stdout)


def test_operation_status_and_history_keep_device_text(cli: Cli) -> None:
    cli.net.fail[("dev2", "commit")] = CommitError("dev2", DEVICE_TEXT)
    run = cli("isolate", "hq", "--yes")
    assert run.exit_code == 5
    assert f"partial: dev2: failed at commit: dev2: {DEVICE_TEXT} (exit 5)" in run.stdout
    assert f"commit     failed: dev2: {DEVICE_TEXT}" in run.stdout  # the event line as it happened

    status = cli.json("status", "hq")
    assert status["devices"]["dev2"]["detail"] == f"dev2: {DEVICE_TEXT}"
    table = cli("status", "hq").stdout
    assert f"│ dev2: {DEVICE_TEXT} │" in table

    entries = cli.json("history", "hq")["entries"]
    assert any(e["payload"].get("detail") == f"dev2: {DEVICE_TEXT}" for e in entries)
    human = cli("history", "hq").stdout
    assert f'"detail": "dev2: {DEVICE_TEXT}"' in human
    assert no_emoji(run.stdout, table, human)


def test_operation_json_stream_keeps_device_text(cli: Cli) -> None:
    cli.net.fail[("dev2", "commit")] = CommitError("dev2", DEVICE_TEXT)
    docs = cli.lines("isolate", "hq", "--yes")
    assert any(d.get("detail") == f"dev2: {DEVICE_TEXT}" for d in docs if d["event"] == "DeviceStep")
    assert {d["device"]: d["error"] for d in docs[-1]["devices"]}["dev2"] == f"dev2: {DEVICE_TEXT}"


def test_verify_capture_keeps_addresses(cli: Cli, tmp_path: Path) -> None:
    cap = str(leak_capture(tmp_path / "leak.pcap"))
    doc = cli.json("verify", "hq", "--pcap", cap, "--stage", "isolated")
    flow = doc["leak_flows"][0]
    assert (flow["src"], flow["dst"], flow["dport"]) == ("2001:db8:100:1234::10", "2001:100::1", 443)
    human = cli("verify", "hq", "--pcap", cap, "--stage", "isolated")
    assert human.exit_code == 3
    leak = "  LEAK 2001:db8:100:1234::10:40000 -> 2001:100::1:443 tcp (1 packets)"
    assert leak in human.stdout.splitlines()
    assert no_emoji(human.stdout)


def test_verify_active_and_watch_keep_probe_and_capture_text(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    cli = make_cli(tmp_path, monkeypatch, vantage=True)
    fake_active(monkeypatch)
    matrix = cli("verify", "hq", "--stage", "isolated")
    assert matrix.exit_code == 3
    assert "(syn-ack [bold]:100:)" in matrix.stdout
    fake_watch(monkeypatch)
    watch = cli("verify", "hq", "--watch", "2", "--stage", "isolated")
    assert "LEAK via exit primary: 2001:db8:100:1234::10:40000 -> 2001:100::1:443 tcp" in watch.stdout
    assert "capture backup (isp2:ce0) failed: agent exited 1: [bold]no such device[/bold]" in watch.stdout
    assert no_emoji(matrix.stdout, watch.stdout)


def test_inventory_error_on_line_100_keeps_its_location(tmp_path: Path) -> None:
    text = inventory_yaml().replace("port: 24001", "port: not-a-port")
    before = text.splitlines().index("        port: not-a-port")
    inv = tmp_path / "site.yaml"
    inv.write_text("# padding\n" * (99 - before) + text)
    res = Cli(inv, tmp_path / "state")("plan", "hq", "--to", "isolated", "--offline")
    assert res.exit_code == 2
    assert res.stderr.startswith(f"{inv}:100: "), res.stderr
    assert no_emoji(res.stderr)


def test_tui_cells_and_labels_are_verbatim() -> None:
    from textual.widgets._data_table import default_cell_formatter

    from egressctl.tui.format import content, plain

    for value in (DEVICE_TEXT, HOST, NET):
        cell = default_cell_formatter(plain(value))
        assert getattr(cell, "plain", None) == value
        assert content(("x", "red"), " ", value).plain == f"x {value}"
