"""A device left at its target must stay there across a reboot: the optional ``ensure_saved`` driver hook.

Some platforms run one configuration and boot from another: IOS its running-config and its startup-config,
a Linux box its live nftables ruleset and the file ``nftables.service`` loads at boot. A change that is only
confirmed lasts until the next power cut, and the site reconnects without anyone being told. Drivers of
such platforms save as part of ``confirm()`` (never before it: an unconfirmed change must not survive a
reboot either) and offer::

    def ensure_saved(self) -> str: ...

which the lifecycle calls on every device an operation leaves at its target (after a confirm, and on a
re-run that finds the device already there: a crashed run may have confirmed without saving). It saves
when the device's boot configuration does not hold what runs, returns a note for the journal when it did
("" when nothing was needed) and raises when it cannot. A failed save never undoes the change (it is
confirmed, and undoing a cut would reopen the site): the device is reported as needing attention, with
why, on its ``done`` step and in the operation's warnings (exit 5). Drivers without the hook (platforms
that commit to what they boot from) are not asked.
"""

from __future__ import annotations

from egressctl.describe import describe

NOT_SAVED = "confirmed and live but not saved, a reboot would undo it: {why}"


def ensure_saved(drv: object, warnings: list[str]) -> str:
    """Run ``drv.ensure_saved()`` if the driver has it; a failure is appended to ``warnings``.

    Returns the driver's note (what it saved now) or "".
    """
    hook = getattr(drv, "ensure_saved", None)
    if not callable(hook):
        return ""
    try:
        return str(hook() or "")
    except Exception as exc:  # any failure is reported, never raised: the change is confirmed and stays
        warnings.append(NOT_SAVED.format(why=describe(exc)))
        return ""
