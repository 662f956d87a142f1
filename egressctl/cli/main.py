"""The ``egressctl`` console script (also ``python -m egressctl`` and ``python -m egressctl.cli.main``).

Start-up is part of the interface: the TUI starts a child ``egressctl`` per operation, scripts and CI run
``verify --pcap`` again and again, and ``--help`` must answer at once. So this module imports nothing
heavy: :func:`main` first offers the command line to :mod:`egressctl.cli.fastpath` (a capture check or
``--version``, answered without typer), and only otherwise builds the typer application of
:mod:`egressctl.cli.app`. ``from egressctl.cli.main import app`` still gives that application (loaded on
first use).
"""

from __future__ import annotations

import sys
from typing import Any

from egressctl.cli import stdout


def main() -> None:
    """Console-script entry point: a closed stdout never changes the exit code."""
    stdout.install()
    from egressctl.cli.fastpath import run

    code = run(sys.argv[1:])
    if code is not None:
        raise SystemExit(code)
    from egressctl.cli.app import app

    app()


def __getattr__(name: str) -> Any:
    """``app``: the typer application, imported when first asked for (PEP 562)."""
    if name == "app":
        from egressctl.cli.app import app

        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    main()
