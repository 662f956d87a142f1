"""An estate on the lab: ``lab up --sites 2 --devices-per-site 7``, one isolate over the group, verified per
site, restored, down. Each copy holds the site's five devices and two branch devices (br1, br2), and ``lab
status`` describes both copies.

Prefix ``eu-``, ports 25300+; the estate is torn down in a ``finally`` whatever happens.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.lab, pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="an estate lab needs root mode"),
]
SITE = Path(__file__).resolve().parents[2] / "lab" / "site.yaml"
PREFIX, PORT = "eu-", 25300


def egressctl(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "egressctl", *argv], env=env, capture_output=True, text=True,
                          timeout=600)


def test_estate_isolate_verify_restore(tmp_path: Path) -> None:
    env = {**os.environ, "EGRESSCTL_STATE_DIR": str(tmp_path / "lab")}
    try:
        up = egressctl(env, "lab", "up", "-i", str(SITE), "--sites", "2", "--prefix", PREFIX,
                       "--port-base", str(PORT), "--devices-per-site", "7")
        assert up.returncode == 0, up.stderr
        inventory = up.stdout.strip().splitlines()[-1].removeprefix("inventory: ")
        status = egressctl(env, "lab", "status", "--json")
        assert status.returncode == 0, status.stdout[-2000:]
        copies = json.loads(status.stdout)["copies"]
        assert [(c["site"], c["up"], c["devices"], c["prefix"]) for c in copies] == [
            ("lab", True, 7, f"{PREFIX}01-"), ("lab2", True, 7, f"{PREFIX}02-")]
        assert all(c["namespaces_present"] == c["namespaces"] > 0 for c in copies)
        common = ("-i", inventory, "--state-dir", str(tmp_path / "ctl"))
        iso = egressctl(env, *common, "isolate", "--group", "estate", "--yes", "--json")
        doc = json.loads(iso.stdout.splitlines()[-1])
        assert iso.returncode == 0, [(s["site"], s["outcome"], s["verdict"]) for s in doc["sites"]]
        assert [(s["site"], s["verdict"], s["state"]) for s in doc["sites"]] == [
            ("lab", "cut-confirmed", "isolated"), ("lab2", "cut-confirmed", "isolated")]
        done = {(ev["site"], ev["device"]) for ev in map(json.loads, iso.stdout.splitlines()[:-1])
                if ev.get("event") == "DeviceStep" and ev["step"] == "done"}
        assert {("lab", "br1"), ("lab", "br2"), ("lab2", "br1"), ("lab2", "br2")} <= done
        back = egressctl(env, *common, "restore", "lab", "lab2", "--full", "--yes", "--json")
        assert back.returncode == 0, back.stdout[-2000:]
        assert {s["state"] for s in json.loads(back.stdout.splitlines()[-1])["sites"]} == {"normal"}
    finally:
        down = egressctl(env, "lab", "down")
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        assert down.returncode == 0, down.stderr
        assert not [ln for ln in left.splitlines() if ln.startswith(PREFIX)]
