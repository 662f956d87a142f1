"""``python -m egressctl.verify.probe [PLAN|-]``: the CLI's ``egressctl probe --json`` without typer.

What verification runs inside a lab vantage point (:func:`egressctl.verify.probe.active.probe_command`):
the same engine, the same plan on stdin or in a file, the same results document on stdout, but only the
probe engine is imported (no typer, pydantic or plugin registry), so a probe run costs its probes and not
a command line. ``--hold`` runs the held-open session agent instead (:mod:`egressctl.verify.held.agent`,
standard library only): the same place, the same way in, so a vantage point that can probe can also hold
sessions open. A plan that cannot be run exits non-zero with one line on stderr, never a results document.
"""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    """Run the plan named by ``argv`` (stdin when absent or ``-``) and print the results document."""
    if argv[1:2] == ["--hold"]:
        from egressctl.verify.held.agent import main as hold

        return hold()
    from egressctl.errors import EgressError
    from egressctl.verify.probe.engine import main_probe

    try:
        if len(argv) < 2 or argv[1] == "-":
            text = sys.stdin.read()
        else:
            with open(argv[1], encoding="utf-8") as plan:
                text = plan.read()
        doc = main_probe(text)
    except (EgressError, OSError) as exc:
        print(f"egressctl probe: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
