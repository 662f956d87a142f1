"""Build hook for the two optional C helpers; every other piece of metadata lives in pyproject.toml.

The capture engine and the live watch's ring walker are compiled by the build backend when a C compiler
(and Python's headers) are present. ``optional=True`` makes a failed build a warning, not an error: an
install without a compiler still works and runs the exact numpy/Python paths (egressctl/verify/native.py
says so once per process). Nothing is compiled at run time.
"""

from setuptools import Extension, setup

PARSER = "egressctl/verify/pktparse.h"  # included by both helpers

setup(
    ext_modules=[
        Extension("egressctl.verify.capture._engine", ["egressctl/verify/capture/engine.c"], depends=[PARSER],
                  optional=True),
        Extension("egressctl.verify.watch._ring_walk", ["egressctl/verify/watch/ring_walk.c"],
                  depends=[PARSER], optional=True),
    ],
)
