"""Held-open sessions: long-lived flows opened before a change and judged after it.

A cut that only stops *new* connections leaves an intruder's established session alive, and a restore that
drops established allowed flows breaks the few things that must never stop. So before an isolate or a
restore each vantage point opens TCP and UDP flows over its exit (:mod:`plan`: to canaries the target
denies and to destinations it allows), keeps them talking (:mod:`agent`, run *in* the vantage point like
the probe engine), and after the change the controller (:mod:`session`) asks when each last got an answer;
:mod:`verdict` turns that into "denied flows dead, allowed flows alive", naming every contradiction with
its exit, devices and 5-tuple.
"""
