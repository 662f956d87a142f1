"""The PAN-OS command processor: operational mode ``admin@fw> `` and configure mode ``admin@fw# ``.

Configure-mode changes go to the shared candidate (see ``edit.py``); ``commit`` streams its job
progress as real chunks and writes ``100%`` in the same write as ``Configuration committed successfully``
(netmiko's ``commit()`` reads until ``100%`` and then looks for that sentence).
"""

from __future__ import annotations

import difflib
import re
import time
from typing import TYPE_CHECKING

from egressctl_lab.emu.base import Reply
from egressctl_lab.emu.paloalto_panos import constants as C
from egressctl_lab.emu.paloalto_panos import edit, generic, shows
from egressctl_lab.emu.paloalto_panos import model as M
from egressctl_lab.emu.paloalto_panos import sessions as psessions
from egressctl_lab.emu.paloalto_panos.edit import CliError, syntax
from egressctl_lab.emu.paloalto_panos.schema import SCHEMA

if TYPE_CHECKING:
    from egressctl_lab.emu.paloalto_panos.device import PanDevice

_CLI_SETTINGS = {
    "scripting-mode": ("on", "off"), "pager": ("on", "off"), "confirmation-prompt": ("on", "off"),
    "config-output-format": ("default", "set", "xml", "json"),
}
_SECTIONS = ("deviceconfig", "zone", "address", "address-group", "service", "rulebase", *SCHEMA)


def _pipe(lines: list[str], pipes: list[list[str]]) -> list[str]:
    """``| match REGEX`` and ``| except REGEX``."""
    for segment in pipes:
        if len(segment) != 2 or segment[0] not in ("match", "except"):
            raise syntax()
        try:
            regex = re.compile(segment[1])
        except re.error as exc:
            raise syntax() from exc
        keep = segment[0] == "match"
        lines = [line for line in lines if (regex.search(line) is not None) == keep]
    return lines


class PanSession:
    """One PAN-OS CLI session."""

    def __init__(self, device: PanDevice, username: str) -> None:
        self.device = device
        self.user = username
        self.configure = False
        # PAN-OS shows configuration in its hierarchical (brace) form until ``set cli config-output-format``.
        self.output_format = device.spec.options.get("config_output_format", "default")

    def banner(self) -> str:
        """``Last login`` lines, as PAN-OS prints them before the first prompt."""
        when = time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(self.device.clock.now()))
        return C.BANNER.format(when=when)

    def prompt(self) -> str:
        """``admin@fw-a> `` or ``[edit]`` + ``admin@fw-a# ``, each after a blank line."""
        template = C.CONFIG_PROMPT if self.configure else C.OP_PROMPT
        return template.format(user=self.user, host=self.device.spec.hostname)

    def handle(self, line: str) -> Reply:
        """Process one line."""
        try:
            segments = edit.tokenize(line)
            words, pipes = segments[0], segments[1:]
            if not words:
                return Reply("")
            if self.configure and words[0] == "commit":
                return self._commit(words[1:])
            lines, close = self._config(words) if self.configure else self._op(words)
            lines = _pipe(lines, pipes) if pipes else lines
        except CliError as exc:
            return Reply(exc.text + "\n")
        return Reply("\n".join(lines) + "\n" if lines else "", close=close)

    # -- operational mode ----------------------------------------------------------------------------
    def _op(self, words: list[str]) -> tuple[list[str], bool]:
        verb = words[0]
        if verb in ("exit", "quit") and len(words) == 1:
            return [], True
        if verb == "configure" and len(words) == 1:
            self.configure = True
            return [C.ENTER_CONFIG] if C.ENTER_CONFIG else [], False
        if verb == "set" and words[1:2] == ["cli"]:
            return self._set_cli(words[2:]), False
        if verb == "show":
            return self._op_show(words[1:]), False
        if words[:2] == ["clear", "session"]:
            return psessions.clear(self.device, words[2:]), False
        if words == ["check", "pending-changes"]:
            return ["yes" if self.device.pending else "no"], False
        if verb in ("set", "show", "request", "debug", "clear", "test", "ping", "check"):
            raise syntax()
        raise CliError(C.UNKNOWN_COMMAND.format(verb))

    def _set_cli(self, args: list[str]) -> list[str]:
        if len(args) == 2 and args[1] in _CLI_SETTINGS.get(args[0], ()):
            if args[0] == "config-output-format":
                self.output_format = args[1]
            return []
        if len(args) == 3 and args[0] == "terminal" and args[1] in ("width", "height") and args[2].isdigit():
            return []
        raise syntax()

    def _op_show(self, args: list[str]) -> list[str]:
        device = self.device
        if args == ["system", "info"]:
            return shows.system_info(device)
        if args == ["interface", "all"]:
            return shows.interface_all(device)
        if args == ["vlan", "all"]:
            return shows.vlan_all(device.running)
        if args == ["clock"]:
            return [time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(device.clock.now()))]
        if args == ["running", "security-policy"]:
            return M.running_policy(device.running)
        if args == ["config", "diff"]:
            return self._diff()
        if args[:1] == ["session"]:
            return psessions.show(device, args[1:])
        if args in (["config", "running"], ["config", "candidate"]):
            return self._render(device.running if args[1] == "running" else device.candidate, [])
        raise syntax()

    def _diff(self) -> list[str]:
        old = M.set_lines([], M.tree(self.device.running))
        new = M.set_lines([], M.tree(self.device.candidate))
        return [d for d in difflib.unified_diff(old, new, "running", "candidate", lineterm="", n=0)]

    def _render(self, cfg: M.PanConfig, path: list[str]) -> list[str]:
        found = M.subtree(M.tree(cfg), path)
        if found is None:
            return []
        prefix, node = found
        if self.output_format == "set":
            return M.set_lines(prefix, node)
        return M.curly_lines(prefix, node)

    # -- configure mode ------------------------------------------------------------------------------
    def _config(self, words: list[str]) -> tuple[list[str], bool]:
        verb, args = words[0], words[1:]
        device = self.device
        if verb in ("exit", "quit") and not args:
            self.configure = False
            return [], False
        if verb in ("set", "delete", "move"):
            device.candidate = edit.apply(device.candidate, verb, args)
            return [], False
        if verb == "show":
            if args and args[0] not in _SECTIONS:
                raise syntax()
            schema_path = args[:1] != ["rulebase"] or args[1:2] == ["nat"]
            if args[:1] and args[0] in SCHEMA and schema_path and not generic.valid_path(args):
                raise syntax()
            return self._render(device.candidate, args), False
        if verb == "run" and args:
            return self._op(args)
        if verb in ("top", "up") and not args:
            return [], False
        return self._files(verb, args), False

    def _files(self, verb: str, args: list[str]) -> list[str]:
        """``save config to``, ``load config from``, ``revert config``."""
        if verb == "save" and len(args) == 3 and args[:2] == ["config", "to"]:
            self.device.save(args[2])
            return [C.SAVED.format(name=args[2])]
        if verb == "load" and len(args) == 3 and args[:2] == ["config", "from"]:
            if not self.device.load(args[2]):
                raise CliError(C.SERVER_ERROR.format(C.NO_SUCH_FILE.format(name=args[2])))
            return [C.LOADED.format(name=args[2])]
        if verb == "revert" and args == ["config"]:
            self.device.revert()
            return [C.REVERTED] if C.REVERTED else []
        if verb in ("save", "load", "revert"):
            raise syntax()
        raise CliError(C.UNKNOWN_COMMAND.format(verb))

    def _commit(self, args: list[str]) -> Reply:
        """``commit [description "x"] [force]``: validate, activate, stream the job's progress."""
        rest = list(args)
        if rest[:1] == ["description"]:
            if len(rest) < 2:
                return Reply(C.INVALID_SYNTAX + "\n")
            rest = rest[2:]
        if rest not in ([], ["force"]):
            return Reply(C.INVALID_SYNTAX + "\n")
        job, errors = self.device.commit()
        step = self.device.commit_seconds() / 4
        chunks = [(0.0, "\n" + C.COMMIT_JOB.format(job=job) + "\n"), (step, "....55%"), (step, "....75%"),
                  (step, "...98%"), (step, "")]
        tail = [C.VALIDATION_ERROR, *errors, C.COMMIT_FAILED] if errors else [C.COMMIT_OK]
        return Reply(text=".....100%\n" + "\n".join(tail) + "\n", chunks=chunks)
