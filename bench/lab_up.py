"""How long `lab up` takes for the default lab (goal: < 10 s). Prints the median of 3 runs.

Each run builds the whole default lab (14 namespaces, 5 devices with their SSH servers ready, canaries,
forwarder) in a fresh state directory, then tears it down. Root mode when run as root, else userns mode.

    python bench/lab_up.py [--runs 3] [--prefix xl-b-] [--port-base 23180]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from egressctl_lab import Lab, lab_mode

LAB_YAML = Path(__file__).resolve().parents[1] / "inventory" / "lab.yaml"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--prefix", default="xl-b-")
    parser.add_argument("--port-base", type=int, default=23180)
    args = parser.parse_args()
    ups, downs, builds, services = [], [], [], []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="egressctl-bench-") as state:
            lab = Lab(LAB_YAML, prefix=args.prefix, port_base=args.port_base, state_dir=Path(state))
            t0 = time.perf_counter()
            try:
                status = lab.up()
                t1 = time.perf_counter()
            finally:
                t2 = time.perf_counter()
                lab.down()
                t3 = time.perf_counter()
            ups.append(t1 - t0)
            downs.append(t3 - t2)
            builds.append(status.timings.get("build_s", 0.0))
            services.append(status.timings.get("services_s", 0.0))
            print(f"run {i + 1}: up {ups[-1]:.2f}s (namespaces+links {builds[-1]:.2f}s, "
                  f"devices ready {services[-1]:.2f}s), down {downs[-1]:.2f}s")
    size = f"{len(lab.topology.nodes)} namespaces, {len(lab.site.devices)} devices"
    print(f"lab up ({lab_mode()} mode, {size}): "
          f"median {statistics.median(ups):.2f}s over {args.runs} runs (goal < 10 s); "
          f"median down {statistics.median(downs):.2f}s")


if __name__ == "__main__":
    main()
