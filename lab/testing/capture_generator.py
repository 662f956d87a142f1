"""Deterministic capture generator with planted leaks and a ground truth, for tests and the benchmark.

It builds a site whose policy has 200+ overlapping allowed destinations (:mod:`capture_site`), then a
capture of N packets with the reference mix (70% IPv4 TCP, 15% UDP, 5% ICMP, 8% IPv6, ~10% 802.1Q-tagged)
where every background packet is permitted or not subject *by construction* (:mod:`capture_traffic`), and
leaks (~0.1%) are planted on the edges (:mod:`capture_leaks`). Every planted leak is checked with a naive
rule walk independent of ``egressctl.verify.matcher``, so the ground truth does not share the code under
test. Unverifiable packets (non-first fragments, truncated and malformed headers) are planted and counted
too, and with ``icmp_error_rate`` ICMP errors leaving the site (:mod:`capture_icmp_errors`): quoting an
allowed flow (related, not leaks) or a denied one (leaks).

Records are laid out with numpy (no per-packet scapy, :mod:`capture_records`), chunk by chunk, so 2M
packets take seconds. ``bpf_exact=True`` keeps to what a BPF filter can express (no QinQ, no IPv6 extension
headers, truncation before the addresses), so ``tcpdump`` with the equivalent filter must find the same
leak count.

This module is the generator's one entry point: :func:`generate` and the names its users need.
"""

from __future__ import annotations

import random
from dataclasses import asdict
from pathlib import Path

import numpy as np
from egressctl_lab.testing.capture_icmp_errors import ErrorPlanter
from egressctl_lab.testing.capture_leaks import Planter
from egressctl_lab.testing.capture_records import file_header, records
from egressctl_lab.testing.capture_site import Reference, build_site
from egressctl_lab.testing.capture_traffic import Model, background
from egressctl_lab.testing.capture_truth import TARGET, GenOptions, GroundTruth, flow_key

__all__ = ["TARGET", "GenOptions", "GroundTruth", "Model", "Reference", "build_site", "flow_key", "generate"]


def generate(path: str | Path, opts: GenOptions | None = None) -> GroundTruth:
    """Write the capture to ``path`` and its ground truth to ``<path>.truth.json``; returns the truth."""
    opts = opts or GenOptions()
    out = Path(path)
    model = Model(opts.site_seed, opts.flows)
    truth = GroundTruth(options=asdict(opts))
    t = 1_700_000_000 * 1_000_000_000
    with out.open("wb") as fh:
        fh.write(file_header(opts))
        for ci, start in enumerate(range(0, opts.packets, opts.chunk)):
            m = min(opts.chunk, opts.packets - start)
            rng = np.random.default_rng([opts.seed, ci])
            f = background(model, rng, m, opts)
            Planter(model, random.Random(opts.seed * 1_000_003 + ci), opts, truth).plant(f, rng)
            if opts.icmp_error_rate:
                ErrorPlanter(model, random.Random(opts.seed * 7_000_003 + ci), opts, truth).plant(f, rng)
            ts = t + np.cumsum(rng.integers(1_000, 20_000, m))
            t = int(ts[-1])
            truth.packets += m
            truth.non_ip += int((f["fam"] == 0).sum())
            fh.write(records(f, ts, opts).tobytes())
    truth.save(Path(str(out) + ".truth.json"))
    return truth
