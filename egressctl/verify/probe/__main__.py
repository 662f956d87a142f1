"""``python -m egressctl.verify.probe [PLAN|-]``: the CLI's ``egressctl probe --json`` without typer.

Kept for vantage points where only the package is importable (a partial install): the same engine, the
same plan on stdin or in a file, the same results document on stdout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from egressctl.verify.probe.engine import main_probe


def main(argv: list[str]) -> int:
    """Run the plan named by ``argv`` (stdin when absent or ``-``) and print the results document."""
    text = sys.stdin.read() if len(argv) < 2 or argv[1] == "-" else Path(argv[1]).read_text()
    print(json.dumps(main_probe(text)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
