"""The record that keeps a FortiGate's original save mode on the unit (pure: lines and parsing)."""

from __future__ import annotations

from pathlib import Path

import pytest
from egressctl_drivers.common.marker import PendingMarker
from egressctl_drivers.fortinet.preflight import left_by_egressctl
from egressctl_drivers.fortinet.savemode import RECORD, Original, parse_record, record_lines

from egressctl.check import Status
from egressctl.inventory.models import Device


def show(lines: list[str]) -> str:
    """``show system auto-script`` as FortiOS prints what ``lines`` configured (indented)."""
    body = [ln for ln in lines if ln not in ("config system auto-script", "end")]
    return "config system auto-script\n" + "\n".join(f"    {ln}" for ln in body) + "\nend\n"


def test_defaults_are_unset_and_others_set() -> None:
    assert Original().lines() == ["config system global", "unset cfg-revert-timeout", "unset cfg-save", "end"]
    assert Original("manual", "1200").lines() == ["config system global", "set cfg-revert-timeout 1200",
                                                  "set cfg-save manual", "end"]


def test_record_round_trip_and_name_fits_fortios() -> None:
    assert len(RECORD) <= 35
    for original in (Original(), Original("manual", "1200"), Original("automatic", "30")):
        lines = record_lines(original)
        assert "set start manual" in lines, "the record never runs by itself"
        assert parse_record(show(lines)) == original


def test_no_record_among_revert_scripts() -> None:
    text = show(['edit "egressctl-rv-0123456789ab-0"', "set start auto", 'set script "end"', "next"])
    assert parse_record(text) is None


def test_check_names_revert_mode_left_by_egressctl() -> None:
    record = show(record_lines(Original("automatic", "1200")))
    found = left_by_egressctl("cfg-save            : revert\n", record)
    assert found is not None and found.status == Status.WARN and "1200" in found.detail
    assert left_by_egressctl("cfg-save            : automatic\n", record) is None
    assert left_by_egressctl("cfg-save            : revert\n", "") is None


def test_markers_of_same_named_devices_of_two_sites_never_collide(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An estate has an fw-a in every site: each one's armed change is its own (found by the estate bench)."""
    monkeypatch.setenv("EGRESSCTL_STATE_DIR", str(tmp_path))
    base = {"name": "fw-a", "platform": "fortinet", "host": "127.0.0.1", "username": "admin",
            "credential": "env:PW",
            "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGJmZXJ0aGVzYW1lMTIzNDU2Nzg5MDEyMzQ1Njc4",
            "inside": ["port2"], "outside": ["port1"], "exit": "isp", "mgmt_address": "10.0.0.1"}
    one, two = (Device.model_validate({**base, "port": port}) for port in (25100, 25120))
    first, second = PendingMarker("fortinet", one), PendingMarker("fortinet", two)
    assert first.path != second.path and first.path.parent == second.path.parent
    first.write(target="isolated")
    assert second.read() is None and first.read() is not None
    second.clear()
    assert first.read() is not None
