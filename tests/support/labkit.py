"""One way for test modules to reach the lab site (``inventory/lab.yaml``) or run it.

Every lab test module used to carry its own copy of the same fixture body (skip without namespaces, make a
state directory, bring the lab up, always bring it down). :func:`running_lab` is that body once, so the
teardown and the ``EGRESSCTL_STATE_DIR`` restore cannot drift apart between modules. Each module keeps its
own namespace prefix and port base, so modules never collide. :func:`lab_site` is the site every built-in
driver's tests render and apply.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from egressctl.inventory.loader import load_inventory
from egressctl.inventory.models import Site
from tests.conftest import lab_available

LAB_YAML = Path(__file__).resolve().parents[2] / "inventory" / "lab.yaml"


def lab_site() -> Site:
    """The lab site (``inventory/lab.yaml``, site ``lab``) as the inventory loader reads it."""
    return load_inventory(LAB_YAML).site("lab")


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
def left_clean_lab(tmp_path_factory: pytest.TempPathFactory, prefix: str, port_base: int,
                   ports: int = 6) -> Iterator[Any]:
    """:func:`running_lab` (state not exported) that also proves, once it is down, that nothing outlived it.

    No namespace of ``prefix``, no process naming its state dir (an sshd, a revert job's shell) and none of
    its ``ports`` loopback ports still bound: a lab whose bastion runs real sshds must not leave them.
    """
    from tests.support.lab_checks import namespaces_with, port_free, processes_mentioning

    with running_lab(tmp_path_factory, prefix, port_base, export_state=False) as instance:
        state = instance.paths.state
        yield instance
    assert namespaces_with(prefix) == [], "the lab's namespaces outlived it"
    assert processes_mentioning(str(state)) == [], "a process of the lab (an sshd?) outlived it"
    assert all(port_free(port_base + i) for i in range(ports))
