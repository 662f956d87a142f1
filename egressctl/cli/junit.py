"""``verify --junit FILE``: a verification as a JUnit XML report, so CI shows each proof natively.

One test case per thing that can pass or fail on its own, named so a CI page reads like the matrix:

* active probes: one case per expectation of the probe matrix (``ws1 -> 203.0.113.9 tcp/443 via
  primary``), failed when a blocked path answered (``leak``) or an allowed path did not
  (``blocked-allowed``); a vantage point that could not run its probes is an *error* case;
* held-open sessions (after an isolate or restore): one case per held flow, failed when a denied session
  survived the change or an allowed one did not; a vantage point whose agent failed is an error case;
* live watch: per capture point, "no leak", "every packet verified" (kernel drops and unverified packets
  fail it: a leak may hide among them) and "site traffic seen" (zero site packets, or none the policy
  allows, is *unverified*, with the reason); a capture point that failed is an error case. The watch an
  isolate runs while its probes cross the exits adds the same cases to the active suite;
* capture file: "no leak", "every packet verified" and "site traffic seen" for the file.

Built from the same result documents ``--json`` prints, so the report and the JSON never disagree.
Device and packet text is written verbatim, minus the few characters XML 1.0 cannot carry.

Every ``verify`` builds its suite, but only ``--junit`` writes XML, so :mod:`xml.etree` is imported by the
writer, not with this module.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from egressctl.errors import InputError
from egressctl.inventory.credentials import redact

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET


@cache
def _not_xml() -> re.Pattern[str]:
    """Characters XML 1.0 cannot carry (compiled on first use: 3 ms that only ``--junit`` needs)."""
    return re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class Case:
    """One test case; ``failure``/``error`` are ``(type, message, details)`` or None when it passed."""

    classname: str
    name: str
    failure: tuple[str, str, str] | None = None
    error: tuple[str, str, str] | None = None
    seconds: float = 0.0


@dataclass
class Suite:
    """One verification (active, watch or capture) of one site."""

    name: str
    cases: list[Case]
    properties: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def _clean(text: Any) -> str:
    return _not_xml().sub("\ufffd", redact(str(text)))


def _flow(f: dict[str, Any]) -> str:
    return (f"{f.get('src')}:{f.get('sport')} -> {f.get('dst')}:{f.get('dport')} {f.get('proto')}"
            f" ({f.get('packets', '?')} packets)")


def active_suite(doc: dict[str, Any]) -> Suite:
    """One case per probe-matrix expectation, plus an error case per failed vantage point."""
    site, cases = doc["site"], []
    for row in doc.get("matrix", []):
        what = "icmp echo" if row["proto"] == "icmp" else f"{row['proto']}/{row['port']}"
        case = Case(f"egressctl.verify.{site}.{row['vantage']}",
                    f"{row['src']} -> {row['dst']} {what} via {row['exit']} ({row['purpose']}): "
                    f"{row['expected']}", seconds=float(row.get("rtt_ms") or 0) / 1000)
        if row.get("problem"):
            by = f" by {row['responder']}" if row.get("responder") else ""
            case.failure = (row["problem"], f"expected {row['expected']}, observed {row['observed']}",
                            f"{row['observed']}: {row['detail']}{by}")
        cases.append(case)
    for vantage, why in doc.get("errors", {}).items():
        cases.append(Case(f"egressctl.verify.{site}.{vantage}", "probes ran",
                          error=("vantage-point-failed", str(why), str(why))))
    cases += _held_cases(site, doc)
    if isinstance(doc.get("watch"), dict):
        cases += watch_suite(doc["watch"]).cases
    return Suite(f"egressctl verify {site} (active, {doc['target']})", cases,
                 {"target": doc["target"], "verdict": doc["verdict"]}, float(doc.get("elapsed_s") or 0))


_HELD_FAILURE = {"alive": "leak", "dead": "blocked-allowed", "unknown": "unverified"}


def _held_cases(site: str, doc: dict[str, Any]) -> list[Case]:
    """One case per held-open session; an error case per vantage point whose agent failed."""
    cases = []
    for e in doc.get("held_sessions", []):
        case = Case(f"egressctl.verify.{site}.{e['vantage']}.held",
                    f"{e['proto']} {e['src']}:{e['sport']} -> {e['dst']}:{e['dport']} via {e['exit']} "
                    f"({', '.join(e['devices'])}): {e['expect']}")
        if not e["ok"]:
            msg = f"expected {e['expect']}, observed {e['observed']}"
            case.failure = (_HELD_FAILURE.get(e["observed"], "unverified"), msg,
                            f"{msg}; last answer {e.get('last_answer_s')} s from the change")
        cases.append(case)
    for vantage, why in doc.get("held_sessions_errors", {}).items():
        cases.append(Case(f"egressctl.verify.{site}.{vantage}.held", "held sessions ran",
                          error=("held-sessions-failed", str(why), str(why))))
    return cases


def _liveness_case(classname: str, name: str, live: dict[str, Any] | None) -> Case:
    """Passes only when the capture saw site traffic it can account for (never from silence)."""
    case = Case(classname, name)
    if (live or {}).get("status") != "verified":  # the rule of egressctl.verify.liveness, read not imported
        reason = str((live or {}).get("reason", "no liveness information"))
        case.failure = ("unverified", reason, reason)
    return case


def _verified_case(classname: str, name: str, unverified: int, drops: int, extra: str = "") -> Case:
    case = Case(classname, name)
    if unverified or drops or extra:
        msg = f"{unverified} unverified packets, {drops} kernel drops"
        case.failure = ("unverified", msg, "\n".join(x for x in (msg, extra) if x))
    return case


def watch_suite(doc: dict[str, Any]) -> Suite:
    """Per capture point: no leak, every packet verified; an error case per failed capture point."""
    site, cases = doc["site"], []
    for name, cap in doc.get("captures", {}).items():
        classname = f"egressctl.watch.{site}.{name}"
        leaks = int(cap.get("counters", {}).get("leaks", 0))
        flows = [f for f in doc.get("flows", []) if f.get("capture") == name]
        case = Case(classname, "no leak")
        if leaks:
            case.failure = ("leak", f"{leaks} leak packets", "\n".join(_flow(f) for f in flows))
        cases += [case, _verified_case(classname, "every packet verified", int(cap.get("unverified", 0)),
                                       int(cap.get("kernel_drops", 0))),
                  _liveness_case(classname, "site traffic seen", cap.get("liveness"))]
    for name, why in doc.get("errors", {}).items():
        cases.append(Case(f"egressctl.watch.{site}.{name}", "capture ran",
                          error=("capture-failed", str(why), str(why))))
    return Suite(f"egressctl verify {site} (watch, {doc['target']})", cases,
                 {"target": doc["target"], "verdict": doc["verdict"]}, float(doc.get("seconds") or 0))


def capture_suite(doc: dict[str, Any]) -> Suite:
    """The capture file: no leak, every packet verified."""
    classname = f"egressctl.capture.{doc['site']}"
    leak = Case(classname, f"{doc['path']}: no leak")
    if doc["leak_packets"]:
        leak.failure = ("leak", f"{doc['leak_packets']} leak packets in {len(doc['leak_flows'])} flows",
                        "\n".join(_flow(f) for f in doc["leak_flows"]))
    errors = "\n".join(str(e) for e in doc.get("errors", []))
    checked = _verified_case(classname, f"{doc['path']}: every packet verified",
                             int(doc["unverified_packets"]), 0, errors)
    live = _liveness_case(classname, f"{doc['path']}: site traffic seen", doc.get("liveness"))
    return Suite(f"egressctl verify {doc['site']} (capture, {doc['target']})", [leak, checked, live],
                 {"target": doc["target"], "verdict": doc["verdict"], "path": doc["path"]},
                 float(doc.get("elapsed_s") or 0))


def _case_xml(parent: ET.Element, c: Case) -> None:
    import xml.etree.ElementTree as ET

    el = ET.SubElement(parent, "testcase", classname=_clean(c.classname), name=_clean(c.name),
                       time=f"{c.seconds:.3f}")
    for tag, what in (("failure", c.failure), ("error", c.error)):
        if what is not None:
            sub = ET.SubElement(el, tag, type=_clean(what[0]), message=_clean(what[1]))
            sub.text = _clean(what[2])


def to_xml(suites: list[Suite]) -> bytes:
    """The report as UTF-8 XML with its declaration."""
    import xml.etree.ElementTree as ET

    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    root = ET.Element("testsuites", name="egressctl verify")
    for s in suites:
        el = ET.SubElement(root, "testsuite", name=_clean(s.name), tests=str(len(s.cases)),
                           failures=str(sum(c.failure is not None for c in s.cases)),
                           errors=str(sum(c.error is not None for c in s.cases)), skipped="0",
                           time=f"{s.seconds:.3f}", timestamp=stamp)
        props = ET.SubElement(el, "properties")
        for k, v in s.properties.items():
            ET.SubElement(props, "property", name=_clean(k), value=_clean(v))
        for c in s.cases:
            _case_xml(el, c)
    for key in ("tests", "failures", "errors"):
        root.set(key, str(sum(int(s.get(key, "0")) for s in root)))
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"


def write(path: Path, suites: list[Suite]) -> None:
    """Write the report to ``path``.

    Raises:
        InputError: ``path`` cannot be written (a usage error, not a verification failure).
    """
    try:
        path.write_bytes(to_xml(suites))
    except OSError as exc:
        raise InputError(f"--junit {path}: cannot write it: {exc.strerror or exc}") from exc
