"""One way for test modules to run the emulated lab site (``inventory/lab.yaml``) or one emulated device.

Every lab test module used to carry its own copy of the same fixture body (skip without namespaces, make a
state directory, bring the lab up, always bring it down). :func:`running_lab` is that body once, so the
teardown and the ``EGRESSCTL_STATE_DIR`` restore cannot drift apart between modules. Each module keeps its
own namespace prefix and port base, so modules never collide.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import lab_available
from egressctl_lab.emu.base import DataPlane, DeviceSpec
from egressctl_lab.emu.server import RunningEmulator, serve_in_thread
from egressctl_lab.hostkeys import write_private

LAB_YAML = Path(__file__).resolve().parents[1] / "inventory" / "lab.yaml"


@contextmanager
def running_lab(tmp_path_factory: pytest.TempPathFactory, prefix: str, port_base: int, *,
                export_state: bool = True, **kw: Any) -> Iterator[Any]:
    """Yield a running ``egressctl_lab.Lab`` named ``prefix`` with its state dir as ``.state``.

    Skips the calling test when network namespaces are unavailable. With ``export_state`` the state dir is
    also exported as ``EGRESSCTL_STATE_DIR`` while the lab runs (the lab's credential refs point into it)
    and the previous value is restored afterwards. ``kw`` goes to ``Lab`` (e.g. ``time_scale``). The lab is
    brought down however the body ends.
    """
    if not lab_available():
        pytest.skip("network namespaces are not available")
    lab_mod = pytest.importorskip("egressctl_lab")
    state = tmp_path_factory.mktemp(f"{prefix}state")
    with pytest.MonkeyPatch.context() as mp:
        if export_state:
            mp.setenv("EGRESSCTL_STATE_DIR", str(state))
        instance = lab_mod.Lab(LAB_YAML, prefix=prefix, port_base=port_base, state_dir=state, **kw)
        try:
            instance.up()
            instance.state = state
            yield instance
        finally:
            instance.down()


@contextmanager
def threaded_emulator(platform: str, spec: DeviceSpec, port: int, key_dir: Path, *, key_name: str,
                      time_scale: float, dataplane: DataPlane | None = None) -> Iterator[RunningEmulator]:
    """Serve ``spec`` as ``platform`` on 127.0.0.1:``port`` in this process, stopped however the body ends.

    The host key is the lab's pinned key for ``key_name`` (written into ``key_dir``), so every module that
    serves the same name presents the same key. ``dataplane`` (if any) stays the caller's to remove.
    """
    key = write_private(key_name, key_dir / "key")
    running = serve_in_thread(platform, spec, port=port, host_key_path=key, time_scale=time_scale,
                              dataplane=dataplane)
    try:
        yield running
    finally:
        running.stop()
