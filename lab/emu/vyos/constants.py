"""VyOS vendor texts: prompts, messages, factory configuration and ``show version``.

Sources: the VyOS documentation (Configuration Overview: ``configure``, ``commit``, ``compare``, ``save``,
``discard``, ``exit discard`` and "Cannot exit: configuration modified."; ``commit-confirm <minutes>`` with
``set system config-management commit-confirm action reload|reboot``, reboot being the default and reload
"not requiring a reboot"; the HTTP API's "Reboot timer stopped" / "Reload timer stopped" / "No confirm
pending"), netmiko's ``VyOSSSH`` (prompts ``user@host:~$`` and ``[edit]`` + ``user@host#``, ``save``
ending with ``Done``, commit failures ``Commit failed`` / ``Failed to generate committed config``), and
the public threads in the shared reference (the ``Proceed ?`` question, "Another confirm is pending",
1.3-1.5 reboot on expiry). Wording not checked against a real router is marked ``[M]``.
"""

from __future__ import annotations

OP_PROMPT = "{user}@{host}:~$ "
CONF_PROMPT = "[edit{level}]\n{user}@{host}# "
#: Printed by ``configure`` before the configuration prompt (netmiko waits for the prompt's ``[edit]``).
CONFIGURE_NOTE = ""

# -- refusals (set/delete/commit) -------------------------------------------------------------------
#: ``set`` of a path the schema does not know [M for the exact indent and blank lines].
PATH_INVALID = "\n  Configuration path: [{path}] is not valid\n  Set failed\n"
VALUE_INVALID = "\n  {why}\n  Value validation failed\n  Set failed\n"
DELETE_FAILED = "\n  {why}\n  Delete failed\n"
UNKNOWN_OP = "\n  Invalid command: [{word}]\n"
UNKNOWN_CONF = "\n  Invalid command: [{word}]\n"
NO_CHANGES = "No configuration changes to commit"
COMMIT_FAILED = "\n{why}\n\n[[firewall]] failed\nCommit failed\n"
CANNOT_EXIT = "Cannot exit: configuration modified.\nUse 'exit discard' to discard the changes and exit.\n"
DISCARDED = "Changes have been discarded\n"  # [M]
NO_DIFF = "No changes between working and active configurations.\n"  # [M]
SAVING = "Saving configuration to '{file}'...\nDone\n"
LOADING = ("Loading configuration from '{file}'\n"  # [M]
           "Load complete. Use 'commit' to make changes effective.\n")
NO_FILE = "Configuration file {file} does not exist\n"  # [M]

# -- commit-confirm ---------------------------------------------------------------------------------
#: The question commit-confirm asks (``Proceed ?`` in the reference) [M for the exact words].
PROCEED = ("commit-confirm will automatically {action} in {minutes} minutes unless confirmed\n"
           "Proceed? [confirm]")
INITIALIZED = "Initialized commit-confirm; {minutes} minutes to confirm before {action}\n"
CONFIRM_PENDING = "Another confirm is pending\n"
CONFIRMED = "{Action} timer stopped\n"
NO_CONFIRM = "No confirm pending\n"
REVISIONS_NEEDED = "commit-confirm reload requires non-zero commit-revisions\n"
ABORTED = "commit-confirm aborted\n"  # [M]
#: Device seconds a reboot takes when the spec's ``boot_seconds`` option does not say [M].
BOOT_SECONDS = 60.0
#: The commit-confirm job's file, which exists while a confirm is pending (vyos-1x T870) [M for 1.5].
CONFIRM_JOB = "/var/run/confirm.job"
SAVED_FILE = "/config/config.boot"

# -- conntrack --------------------------------------------------------------------------------------
RESET_ASK = "This will clear all currently tracked and expected connections. Continue? [y/N]"  # [M]
CT_DELETED = "conntrack v1.4.7 (conntrack-tools): {n} flow entries have been deleted.\n"
CT_LISTED = "conntrack v1.4.7 (conntrack-tools): {n} flow entries have been shown.\n"

#: The version line of ``show version``; the spec's ``version`` option replaces the number.
DEFAULT_VERSION = "1.4.0"
SHOW_VERSION = """Version:          VyOS {version}
Release train:    {train}

Built by:         autobuild@vyos.net
Built on:         Mon 02 Sep 2024 06:00 UTC
Build UUID:       2c3a5d0e-8d1a-4a0b-9c0f-000000000000
Build commit ID:  0000000000000

Architecture:     x86_64
Boot via:         installed image
System type:      KVM guest

Hardware vendor:  QEMU
Hardware model:   Standard PC (i440FX + PIIX, 1996)
Hardware S/N:
Hardware UUID:    00000000-0000-0000-0000-000000000000

Copyright:        VyOS maintainers and contributors
"""
