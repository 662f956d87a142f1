"""Build hook for the two optional C helpers; every other piece of metadata lives in pyproject.toml.

The capture engine and the live watch's ring walker are compiled by the build backend when a C compiler
(and Python's headers) are present. ``optional=True`` makes a failed build a warning, not an error: an
install without a compiler still works and runs the exact numpy/Python paths (egressctl/verify/native.py
says so once per process). Nothing is compiled at run time.
"""

from setuptools import Extension, setup

PARSER = "egressctl/verify/pktparse.h"  # included by both helpers
CAPTURE = "egressctl/verify/capture"
# Appended after Python's own CFLAGS (often -O3), so it wins: measured side by side on the capture loop,
# -O3 was 3-4% slower than -O2 (bench/capture_bench.py's file, same process, interleaved runs).
FLAGS = ["-O2"]

setup(
    ext_modules=[
        Extension("egressctl.verify.capture._engine",
                  [f"{CAPTURE}/{c}.c" for c in ("engine", "flows", "resync")],
                  depends=[PARSER, f"{CAPTURE}/engine.h"], extra_compile_args=FLAGS, optional=True),
        Extension("egressctl.verify.watch._ring_walk", ["egressctl/verify/watch/ring_walk.c"],
                  depends=[PARSER], extra_compile_args=FLAGS, optional=True),
    ],
)
