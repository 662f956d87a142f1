"""Every ``--json`` output is one documented, versioned shape: real outputs validated against schemas/.

Each document names its schema (``"schema": "egressctl.plan/1"``); the file is
``schemas/plan.schema.json``, self-contained (a consumer needs only that file). Outputs come from the
real CLI over the engine double; verification outputs from real result types (a capture file, and the
probe/watch report classes fed fabricated observations, since real probes and captures need the lab).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from egressctl.cli import jsonout
from egressctl.errors import CommitError, ConnectError
from tests.egressctl.cli.test_harness import ROOT, Cli, fake_active, fake_watch, leak_capture, make_cli

SCHEMAS = {p.name: json.loads(p.read_text()) for p in sorted((ROOT / "schemas").glob("*.schema.json"))}


def check(doc: Any, expected: str | None = None) -> None:
    """``doc`` names its schema (``expected`` when given) and is valid against that schema's file."""
    assert isinstance(doc, dict) and "schema" in doc, doc
    if expected is not None:
        assert doc["schema"] == expected
    schema = SCHEMAS[jsonout.schema_file(doc["schema"])]
    errors = sorted(Draft202012Validator(schema).iter_errors(doc), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    return make_cli(tmp_path, monkeypatch, vantage=True)


def test_every_schema_is_valid_and_named_by_one_output() -> None:
    assert set(SCHEMAS) == {jsonout.schema_file(s) for s in jsonout.ALL}
    for schema in SCHEMAS.values():
        Draft202012Validator.check_schema(schema)


def test_shared_definitions_do_not_drift() -> None:
    """A definition carried by several files (the plan inside an operation result...) is the same in each."""
    seen: dict[str, tuple[str, Any]] = {}
    for name, schema in SCHEMAS.items():
        for key, definition in schema["$defs"].items():
            first = seen.setdefault(key, (name, definition))
            assert definition == first[1], f"$defs/{key} differs between {first[0]} and {name}"


def test_a_document_of_another_shape_is_refused() -> None:
    with pytest.raises(AssertionError):
        check({"schema": jsonout.PLAN, "site": "hq"})


def test_plan(cli: Cli) -> None:
    check(cli.json("plan", "hq", "--to", "isolated", "--offline"), jsonout.PLAN)
    cli.net.fail[("dev2", "open")] = ConnectError("dev2", "refused")
    check(cli.json("plan", "hq", "--to", "ministry"), jsonout.PLAN)


@pytest.mark.parametrize("argv", [("isolate", "hq", "--yes"), ("isolate", "hq", "--dry-run"),
                                  ("restore", "hq", "--full", "--yes")])
def test_operation_stream(cli: Cli, argv: tuple[str, ...]) -> None:
    cli.net.fail[("dev3", "commit")] = CommitError("dev3", "refused")
    docs = cli.lines(*argv, "--no-verify")
    for event in docs[:-1]:
        check(event, jsonout.EVENT)
    check(docs[-1], jsonout.OPERATION)


def test_unconfirmed_operation_result(cli: Cli) -> None:
    docs = [json.loads(ln) for ln in cli("isolate", "hq", "--json", input="nope\n").stdout.splitlines()
            if ln.startswith("{")]
    check(docs[-1], jsonout.OPERATION)
    assert docs[-1]["exit_code"] == 2


def test_status_overview_history_chain_unlock(cli: Cli) -> None:
    check(cli.json("status", "hq"), jsonout.STATUS)
    check(cli.json("status"), jsonout.OVERVIEW)
    cli("isolate", "hq", "--yes", "--no-verify")
    check(cli.json("status", "hq"), jsonout.STATUS)
    check(cli.json("history"), jsonout.HISTORY)
    check(cli.json("history", "--verify"), jsonout.CHAIN)
    check(cli.json("unlock", "hq"), jsonout.UNLOCK)

    from egressctl.journal import Journal

    j = Journal(cli.state)
    j.acquire_lock("hq", f"{socket.gethostname()}:1", "someone")
    j.close()
    locked = cli.json("status", "hq")
    check(locked, jsonout.STATUS)
    assert locked["lock"]["owner"].endswith(":1")
    check(cli.json("status"), jsonout.OVERVIEW)
    removed = cli.json("unlock", "hq")
    check(removed, jsonout.UNLOCK)
    assert removed["removed"]["site"] == "hq"


def test_verify_capture(cli: Cli, tmp_path: Path) -> None:
    cap = str(leak_capture(tmp_path / "leak.pcap"))
    check(cli.json("verify", "hq", "--pcap", cap, "--stage", "isolated"), jsonout.VERIFY_CAPTURE)


def test_verify_active(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_active(monkeypatch)
    staged = cli("verify", "hq", "--stage", "isolated", "--json")
    assert staged.exit_code == 3
    check(json.loads(staged.stdout), jsonout.VERIFY_ACTIVE)
    journaled = cli("verify", "hq", "--json")  # the engine's path (journal state: normal)
    check(json.loads(journaled.stdout), jsonout.VERIFY_ACTIVE)


def test_verify_active_with_retries() -> None:
    """A probe that answered only on a retry: ``tries`` on every observation, ``answered_on_retry`` listed."""
    from egressctl.verify.probe.active import ActiveReport, Observation
    from egressctl.verify.probe.matrix import Cell
    from egressctl.verify.probe.records import ProbeResult

    cell = Cell("ws1", "primary", 4, "10.10.1.11", "203.0.113.53", "tcp", 53, "allowed:dns", "reachable",
                "dns")
    late = Observation(cell, ProbeResult("ws1:0", "answered", "syn-ack", "203.0.113.53", 3, 2.5), tries=2)
    doc = {"schema": jsonout.VERIFY_ACTIVE, **ActiveReport("hq", "isolated", [late]).to_dict()}
    assert doc["ok"] and doc["matrix"][0]["tries"] == 2 and len(doc["answered_on_retry"]) == 1
    check(doc, jsonout.VERIFY_ACTIVE)
    doc["matrix"][0]["tries"] = 0
    with pytest.raises(AssertionError):
        check(doc, jsonout.VERIFY_ACTIVE)


def test_verify_watch_stream(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_watch(monkeypatch)
    res = cli("verify", "hq", "--watch", "2", "--stage", "isolated", "--json")
    assert res.exit_code == 3, res.output
    docs = [json.loads(ln) for ln in res.stdout.splitlines()]
    for event in docs[:-1]:
        check(event, jsonout.WATCH_EVENT)
    check(docs[-1], jsonout.VERIFY_WATCH)


def test_probe(cli: Cli) -> None:
    res = cli("probe", "--json", input='{"version": 1, "timeout": 1, "probes": []}')
    assert res.exit_code == 0, res.output
    check(json.loads(res.stdout), jsonout.PROBE)
