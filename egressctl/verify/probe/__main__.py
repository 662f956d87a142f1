"""``python -m egressctl.verify.probe [PLAN|-]``: the CLI's ``egressctl probe --json`` without typer.

Kept for vantage points where only the package is importable (a partial install): the same engine, the
same plan on stdin or in a file, the same results document on stdout. ``--hold`` runs the held-open
session agent instead (:mod:`egressctl.verify.held.agent`): the same place, the same way in, so a vantage
point that can probe can also hold sessions open.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    """Run the plan named by ``argv`` (stdin when absent or ``-``) and print the results document."""
    if argv[1:2] == ["--hold"]:
        from egressctl.verify.held.agent import main as hold

        return hold()
    from egressctl.verify.probe.engine import main_probe

    text = sys.stdin.read() if len(argv) < 2 or argv[1] == "-" else Path(argv[1]).read_text()
    print(json.dumps(main_probe(text)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
