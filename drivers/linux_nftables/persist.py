"""Persistence on Linux: the confirmed table is loaded again at boot, an unconfirmed one never is.

The kernel's ruleset is gone after a reboot; a Debian host rebuilds it from ``/etc/nftables.conf``, which
``nftables.service`` loads (``nft -f``) early at boot. egressctl keeps its table there without rewriting the
site's file: its own file :data:`FILE` holds the table as last confirmed (declare, delete, define, so it
loads whether or not the table exists), and one ``include`` line at the end of ``/etc/nftables.conf`` (after
the site's ``flush ruleset`` and tables) loads it. Both are written atomically (a new file synced, then
renamed over the old one): the include line only once the file exists, and it is removed before the file
after the full restore, so the boot configuration never names a missing file (``nft -f`` would then load
nothing at all). After writing, ``nft -c -f /etc/nftables.conf`` proves the whole boot configuration still
loads.

This is done in :meth:`~egressctl_drivers.linux_nftables.driver.LinuxNftablesDriver.confirm` (once the
revert job is killed) and after a rollback, never while the revert job waits: a reboot then brings back the
last confirmed table, as the job would have. The work runs on the box as one POSIX ``sh`` script (below),
sent once per boot into the driver's working directory, so a lost session never leaves half a sequence of
commands; it writes only when something differs (a re-run that changes nothing writes nothing).

A shell in a network namespace other than init's (``ip netns exec``, a lab box) saves only where ``/etc``
is its own mount: otherwise ``/etc/nftables.conf`` is the host's, whose boot loads it into init's
namespace, and writing it would change another machine's firewall and still lose the box's table.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Callable

from egressctl_drivers.linux_nftables import constants as c

CONF = "/etc/nftables.conf"
FILE = "/etc/egressctl/egressctl.nft"
INCLUDE = f'include "{FILE}"'
NOTE = "# egressctl: its table as last confirmed, loaded at boot (removed after a full restore)"
SCRIPT_NAME = "persist.sh"
SAME, WROTE, DIFFERS = "EGRESSCTL-SAVED-SAME", "EGRESSCTL-SAVED-WROTE", "EGRESSCTL-SAVED-DIFFERS"
TABLE = f"{c.FAMILY} {c.TABLE}"

#: ``sh persist.sh save|check WORKDIR``. ``check`` only compares (prints SAME or DIFFERS); ``save`` writes
#: what differs (prints SAME or WROTE). Any failure prints ``EGRESSCTL-FAILED: why`` and exits 1.
SCRIPT = f"""set -u
mode=$1 new=$2/boot.nft
conf=$(readlink -f {CONF} 2>/dev/null || echo {CONF})
file={FILE} inc={shlex.quote(INCLUDE)} note={shlex.quote(NOTE)}
fail() {{ echo "EGRESSCTL-FAILED: $*"; exit 1; }}
put() {{ sync "$1.egressctl-new" 2>/dev/null; mv -f "$1.egressctl-new" "$1" || fail "cannot replace $1"; \\
  sync "${{1%/*}}" 2>/dev/null; true; }}
included() {{ [ -f "$conf" ] && grep -qxF "$inc" "$conf"; }}
if [ "$(readlink /proc/1/ns/net)" != "$(readlink /proc/$$/ns/net)" ] \
    && ! awk '$5 == "/etc" {{ found = 1 }} END {{ exit !found }}' /proc/self/mountinfo; then
  fail "this shell's network namespace is not init's and /etc is not its own: {CONF} belongs to a host \
that would load it into another namespace at boot (nothing saved)"
fi
if nft list table {TABLE} >/dev/null 2>&1; then
  {{ printf 'table {TABLE}\\ndelete table {TABLE}\\n'; nft list table {TABLE}; }} > "$new" \\
    || fail "cannot list the table"
  if cmp -s "$new" "$file" && included; then echo {SAME}; exit 0; fi
  [ "$mode" = check ] && {{ echo {DIFFERS}; exit 0; }}
  mkdir -p -m 0755 "${{file%/*}}" || fail "cannot create ${{file%/*}}"
  cp "$new" "$file.egressctl-new" || fail "cannot write $file"
  put "$file"
  if ! included; then
    if [ -e "$conf" ]; then cp -p "$conf" "$conf.egressctl-new"
    else printf '#!/usr/sbin/nft -f\\n' > "$conf.egressctl-new"; fi || fail "cannot copy $conf"
    printf '%s\\n%s\\n' "$note" "$inc" >> "$conf.egressctl-new" || fail "cannot write $conf"
    put "$conf"
  fi
  out=$(nft -c -f "$conf" 2>&1) || fail "$conf no longer loads: $(echo $out | cut -c1-200)"
else
  if ! included && [ ! -e "$file" ]; then echo {SAME}; exit 0; fi
  [ "$mode" = check ] && {{ echo {DIFFERS}; exit 0; }}
  if included; then
    grep -vxF -e "$inc" -e "$note" "$conf" > "$conf.egressctl-new"; [ $? -le 1 ] || fail "cannot filter $conf"
    chmod --reference="$conf" "$conf.egressctl-new" && chown --reference="$conf" "$conf.egressctl-new" \\
      || fail "cannot copy the mode of $conf"
    put "$conf"
  fi
  rm -f "$file" || fail "cannot remove $file"
  rmdir "${{file%/*}}" 2>/dev/null
fi
echo {WROTE}
"""
SCRIPT_SHA = hashlib.sha256(SCRIPT.encode()).hexdigest()

Run = Callable[[str], str]
WriteFile = Callable[[str, str], None]

SAVED_NOTE = f"saved for the next boot ({FILE}, included from {CONF})"
PLAN_NOTE = (f"persists on confirm: the confirmed table is written to {FILE}, which {CONF} includes "
             "(nftables.service loads it at boot); an unconfirmed one never is, so a reboot while the job "
             "waits also undoes it")


def run_script(run: Run, write_file: WriteFile, workdir: str, mode: str) -> str:
    """Run the script in ``mode`` (``save`` or ``check``), sending it first unless this boot has it.

    Returns :data:`SAME`, :data:`WROTE` or :data:`DIFFERS`; a failure raises what ``run`` raises.
    """
    path = f"{workdir}/{SCRIPT_NAME}"
    have = run(f"sha256sum {path} 2>/dev/null | cut -c1-64 || true").strip().splitlines()
    if have[-1:] != [SCRIPT_SHA]:
        write_file(SCRIPT_NAME, SCRIPT)
    out = run(f"sh {path} {mode} {workdir}")
    return next((w for w in (WROTE, DIFFERS, SAME) if w in out), SAME)


#: Read-only facts for ``egressctl check`` (two commands, each below the terminal width): is the include
#: there, does the boot file exist, does systemd load it.
CHECK_CMDS = (f"grep -qxF {shlex.quote(INCLUDE)} {CONF} 2>/dev/null && echo EGRESSCTL-INCLUDED; "
              f"test -f {CONF} && echo EGRESSCTL-CONF; true",
              "command -v systemctl >/dev/null && "
              "echo EGRESSCTL-UNIT=$(systemctl is-enabled nftables.service 2>/dev/null); true")
