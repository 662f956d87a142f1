"""``PendingMarker``: the controller's own record of a change that waits for its confirm.

A driver whose safety net is not the device's own timer (FortiOS's borrowed save mode, a revert job on a
second host, a watchdog in the controller) needs to know, in a resumed run or a second process, that a
change of egressctl's was armed and never confirmed: the device alone cannot always say. The record is one
JSON file per device under the private state directory; it is written before the change and removed by the
confirm or the rollback. Shared by every driver that arms such a net (``fortinet``, ``paloalto_panos``,
``cisco_asa``), so it lives here rather than in one vendor's folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from typing import TYPE_CHECKING, Any

from egressctl.inventory.credentials import state_dir

if TYPE_CHECKING:
    from egressctl.inventory.models import Device


class PendingMarker:
    """Controller-side record of an armed, unconfirmed change (survives a controller restart).

    One controller may drive many sites whose devices share names (every hospital of an estate has an
    ``fw-a``), so the file is named by the device *and* where it is reached: name, host, port, jump host and
    ssh_config. Two sites' ``fw-a`` never share a marker, so neither can take the other's armed change for
    its own or remove it.
    """

    def __init__(self, platform: str, device: Device | str) -> None:
        if isinstance(device, str):  # transitional, a bare name (collides across sites): pass the device
            self.path = state_dir() / "drivers" / platform / f"{device}.json"
            return
        where = "|".join(str(v) for v in (device.host, device.port, device.jump, device.ssh_config))
        digest = hashlib.sha256(where.encode()).hexdigest()[:12]
        self.path = state_dir() / "drivers" / platform / f"{device.name}-{digest}.json"

    def write(self, **data: Any) -> None:
        """Record the armed change (atomic replace), private like the rest of the state directory."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"armed_at": time.time(), **data}))
        tmp.replace(self.path)

    def read(self) -> dict[str, Any] | None:
        """The record, or None when no change is armed."""
        try:
            data: dict[str, Any] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return None
        return data

    def clear(self) -> None:
        """Forget the armed change."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
