"""One VyOS CLI session: operational mode (``vyos@vyos:~$``) and configuration mode (``[edit]``).

``configure`` gives the session a working copy of the active configuration; ``set``/``delete`` change it
(refused lines change nothing), ``compare`` shows it against the active one, ``commit`` /
``commit-confirm N`` make it active, ``confirm`` stops a pending commit-confirm, ``discard`` and ``exit
discard`` throw it away, ``save`` writes the *active* configuration to ``/config/config.boot``, ``load``
reads a saved file into the working copy, ``run`` runs an operational command. A session opened before the
router rebooted, or while it boots, is closed, as its TCP connection would be.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from egressctl_lab.emu.base import Reply
from egressctl_lab.emu.vyos import constants as c
from egressctl_lab.emu.vyos import firewall, show
from egressctl_lab.emu.vyos.tree import Tree, TreeError, braces, clone, commands, delete_path, get, set_path
from egressctl_lab.emu.vyos.tree import split as split_words

if TYPE_CHECKING:
    from egressctl_lab.emu.vyos.device import VyosDevice

#: Top-level configuration nodes VyOS 1.4 has (the generic tree accepts anything below them).
TOP = frozenset({"firewall", "interfaces", "system", "service", "protocols", "nat", "nat66", "policy", "vpn",
                 "high-availability", "container", "pki", "qos", "vrf", "load-balancing", "traffic-policy",
                 "zone-policy", "netns", "mpls"})
CC_ACTION = ["system", "config-management", "commit-confirm", "action"]


class VyosSession:
    """A login on the router; ``working`` is the configuration mode's copy (None in operational mode)."""

    def __init__(self, device: VyosDevice, username: str) -> None:
        self.device = device
        self.username = username
        self.working: Tree | None = None
        self.question: str = ""  # a y/N question waiting for its answer (commit-confirm, reset conntrack)
        self.confirm_minutes = 0
        self.confirm_action = ""
        #: The configuration level ``edit`` moved to (``[edit firewall ipv4]``); set/delete/show are below it.
        self.level: list[str] = []
        self.boot = device.reboots
        self.dead = device.booting

    # -- Session protocol ----------------------------------------------------------------------------
    def banner(self) -> str:  # noqa: D102
        return "" if self.dead else "Welcome to VyOS!\n\n"

    def prompt(self) -> str:  # noqa: D102
        if self.dead or self.question:
            return ""
        fmt = c.OP_PROMPT if self.working is None else c.CONF_PROMPT
        level = "".join(" " + w for w in self.level)
        return fmt.format(user=self.username, host=self.device.hostname(), level=level)

    def handle(self, line: str) -> Reply:  # noqa: D102
        if self.dead or self.boot != self.device.reboots or self.device.booting:
            self.dead = True
            return Reply(close=True)
        if self.question:
            return Reply(self._answer(line.strip()))
        try:
            words = split_words(line)
        except TreeError as exc:
            return Reply(f"\n  {exc}\n")
        if not words:
            return Reply()
        if self.working is None:
            return self._op(line, words)
        return self._conf(line, words)

    # -- operational mode ----------------------------------------------------------------------------
    def _op(self, line: str, words: list[str]) -> Reply:
        head, *filters = line.split("|")
        words = split_words(head)
        if words[0] == "exit":
            return Reply(close=True)
        if words[0] == "configure":
            self.working = clone(self.device.active)
            return Reply(c.CONFIGURE_NOTE)
        return Reply(show.pipes(self.op_text(words), filters) if filters else self.op_text(words))

    def op_text(self, words: list[str]) -> str:
        """The output of one operational command (``run`` in configuration mode uses it too)."""
        dev = self.device
        if words[:2] == ["set", "terminal"]:
            return ""
        if words[:2] == ["show", "configuration"]:
            return show.configuration(dev.active, words[2:])
        if words[:2] == ["show", "version"]:
            return show.version(dev)
        if words[:2] == ["show", "interfaces"]:
            return show.interfaces(dev)
        if words[:3] == ["show", "conntrack", "table"] and words[3:4] in (["ipv4"], ["ipv6"]):
            return show.conntrack_table(dev, 4 if words[3] == "ipv4" else 6)
        if words[:2] == ["reset", "conntrack"]:
            self.question = "reset"
            return c.RESET_ASK
        if words[:2] == ["sudo", "conntrack"]:
            return show.conntrack_cmd(dev, words[2:])
        if words[:2] == ["ls", c.CONFIRM_JOB]:
            return (c.CONFIRM_JOB + "\n" if dev.confirm_pending else
                    f"ls: cannot access '{c.CONFIRM_JOB}': No such file or directory\n")
        return c.UNKNOWN_OP.format(word=words[0])

    def _answer(self, answer: str) -> str:
        asked, self.question = self.question, ""
        yes = answer.lower() in ("y", "yes") or (asked == "confirm" and answer == "")
        if asked == "reset":
            if not yes:
                return "\n"
            table = self.device.dataplane.sessions
            gone = sum(1 for f in table.flows() if table.delete(f))
            return f"\nConnection tracking entries cleared: {gone}\n"  # [M]
        if not yes:
            return "\n" + c.ABORTED
        return "\n" + self._commit(self.confirm_minutes)

    # -- configuration mode --------------------------------------------------------------------------
    def _conf(self, line: str, words: list[str]) -> Reply:
        assert self.working is not None
        verb, args = words[0], words[1:]
        if verb == "run":
            head, *filters = line.split("|")
            text = self.op_text(split_words(head)[1:])
            return Reply(show.pipes(text, filters) if filters else text)
        if verb in ("set", "delete"):
            return Reply(self._edit(verb, [*self.level, *args]))
        if verb in ("edit", "up", "top"):
            self.level = [*self.level, *args] if verb == "edit" else self.level[:-1] if verb == "up" else []
            return Reply()
        if verb == "commit":
            return Reply(self._commit(0))
        if verb == "commit-confirm":
            return self._commit_confirm(args)
        if verb == "confirm":
            action = self.device.confirm_action or "reboot"
            done = self.device.confirm()
            return Reply(c.CONFIRMED.format(Action=action.capitalize()) if done else c.NO_CONFIRM)
        if verb == "compare":
            return Reply(self._compare(args))
        if verb == "show":
            where = [*self.level, *args]
            node = get(self.working, where) or {}
            return Reply("\n".join(braces(node, where)) + "\n")
        if verb == "discard":
            self.working = clone(self.device.active)
            return Reply(c.DISCARDED)
        if verb == "save":
            return Reply(self._save(args))
        if verb == "load":
            return Reply(self._load(args))
        if verb == "exit" and self.level and not args:  # exit one configuration level [M]
            self.level.pop()
            return Reply()
        if verb == "exit":
            if args[:1] != ["discard"] and self.working != self.device.active:
                return Reply(c.CANNOT_EXIT)
            self.working, self.level = None, []
            return Reply()
        return Reply(c.UNKNOWN_CONF.format(word=verb))

    def _edit(self, verb: str, path: list[str]) -> str:
        assert self.working is not None
        if not path or path[0] not in TOP:
            return c.PATH_INVALID.format(path=" ".join(path[:1]))
        if verb == "delete":
            try:
                delete_path(self.working, path)
            except TreeError as exc:
                return c.DELETE_FAILED.format(why=exc)
            return ""
        if path[:4] == CC_ACTION and (not self.device.supports_reload
                                      or path[4:] not in (["reload"], ["reboot"])):
            return c.PATH_INVALID.format(path=" ".join(path[:4]))
        if path[0] == "firewall":
            why = firewall.check_set(path)
            if why == "path":
                return c.PATH_INVALID.format(path=" ".join(path))
            if why:
                return c.VALUE_INVALID.format(why=why)
        set_path(self.working, path)
        return ""

    def _commit(self, minutes: int) -> str:
        assert self.working is not None
        dev = self.device
        if self.working == dev.active:
            return c.NO_CHANGES + "\n"
        errors = firewall.commit_errors(self.working)
        if errors:
            return c.COMMIT_FAILED.format(why="\n".join(errors))
        before = clone(dev.active)
        dev.commit(self.working)
        if minutes:
            dev.arm(minutes, before, self.confirm_action)
            return c.INITIALIZED.format(minutes=minutes, action=dev.confirm_action)
        return ""

    def _commit_confirm(self, args: list[str]) -> Reply:
        dev = self.device
        minutes = int(args[0]) if args and args[0].isdigit() else 10
        if dev.confirm_pending:
            return Reply(c.CONFIRM_PENDING)
        action = dev.action()
        if action == "reload" and get(dev.active, [*CC_ACTION[:2], "commit-revisions"]) is None:
            return Reply(c.REVISIONS_NEEDED)
        self.confirm_minutes, self.confirm_action = minutes, action
        if "no-prompt" in args:
            return Reply(self._commit(minutes))
        self.question = "confirm"
        return Reply(c.PROCEED.format(action=action, minutes=minutes))

    def _compare(self, args: list[str]) -> str:
        assert self.working is not None
        base = self.device.saved if args[:1] == ["saved"] else self.device.active
        old, new = set(commands(base)), set(commands(self.working))
        if old == new:
            return c.NO_DIFF
        gone = [ln.replace("set ", "delete ", 1) for ln in commands(base) if ln not in new]
        added = [ln for ln in commands(self.working) if ln not in old]
        if args[:1] == ["commands"]:
            return "\n".join([*gone, *added]) + "\n"
        return "\n".join([*(f"- {ln[7:]}" for ln in gone), *(f"+ {ln[4:]}" for ln in added)]) + "\n"

    def _save(self, args: list[str]) -> str:
        target = args[0] if args else c.SAVED_FILE
        if target == c.SAVED_FILE:
            self.device.saved = clone(self.device.active)
        else:
            self.device.files[target] = clone(self.device.active)
        return c.SAVING.format(file=target)

    def _load(self, args: list[str]) -> str:
        source = args[0] if args else c.SAVED_FILE
        found = self.device.saved if source == c.SAVED_FILE else self.device.files.get(source)
        if found is None:
            return c.NO_FILE.format(file=source)
        self.working = clone(found)
        return c.LOADING.format(file=source)
