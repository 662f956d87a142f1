#!/usr/bin/env python3
"""Write docs/inventory.md, the reference of every inventory field, from the pydantic models.

The models (``egressctl/inventory/models.py``, ``access.py``, ``probing.py`` and ``values.py``) are what the
loader enforces, so the
reference is derived from them instead of being written by hand: field names, types, defaults, lengths,
bounds and the safe-name rules come from the models themselves, the descriptions from their ``Field``
texts, and the example and its error messages from the real loader run on the example hospital inventory.
Only the rules that live in validator code (cross-field and cross-site checks) are stated here, in
``CHECKS``, and ``tests/egressctl/inventory/test_doc.py`` fails when a model gains a validator that is not
accounted for there, or when docs/inventory.md differs from what this script prints.

Usage:
    python scripts/gen_inventory_doc.py            # rewrite docs/inventory.md
    python scripts/gen_inventory_doc.py --check    # exit 1 if docs/inventory.md is stale
"""

from __future__ import annotations

import argparse
import inspect
import ipaddress
import re
import sys
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import annotated_types
import yaml
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from egressctl.errors import InventoryError
from egressctl.inventory import access, cmdsecret, crossref, loader, models, probing, values
from egressctl.registry import BUILTIN

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "docs" / "inventory.md"
EXAMPLE = ROOT / "inventory" / "examples" / "hospital.yaml"
COMMAND = "python scripts/gen_inventory_doc.py"

#: The example hospital site, trimmed to one item of each list (by name, or by position for captures):
#: small enough to read at once, and still every section of a site.
EXAMPLE_PICK: dict[str, list[str | int]] = {
    "management": ["noc-jump"], "always_allowed": ["dns-upstream"], "stages": ["ministry"],
    "devices": ["fgt-primary"], "vantage_points": ["probe-lan"], "canaries": ["canary-web"], "captures": [0],
    "jump_hosts": ["noc-bastion"],
}
#: Modules whose models are sections of the document (values.py's PortRange is a value, not a section).
MODEL_MODULES = (models.__name__, access.__name__, probing.__name__)

_WORLD = f"destinations covering 1/{crossref.WORLD_SHARE} or more of the IPv4 or IPv6 space need allow_world"
_UNIQUE = "unique in the site, ignoring case"
_EXIT = "the exit of one of the site's devices"
_REFS = "env:VAR, file:PATH, cmd:COMMAND, key:PATH or agent"
_VALUE_REFS = "env:VAR, file:PATH or cmd:COMMAND; anything else is refused as a literal secret"
_JUMP = "the name of one of the site's jump_hosts"
_SSH_ONLY = "only with ssh_host"
_SSH_CONFIG = "a path ({state} and ~ expand) or none"
_PIN = ("ssh-ed25519, ssh-rsa or ecdsa-sha2-nistp256/384/521 then the base64 key (16+ characters), or "
        "known_hosts:PATH")

#: Rules enforced by validator code (models, loader) that the field types cannot show, per (model, field).
CHECKS: dict[tuple[type[BaseModel], str], str] = {
    (models.Site, "name"): "unique in the file",
    (models.Site, "inside"): "canaries must be outside these prefixes",
    (models.ManagementPath, "name"): _UNIQUE,
    (models.Flow, "name"): f"{_UNIQUE} (always-allowed and stage flows together)",
    (models.Flow, "destinations"): _WORLD,
    (models.Flow, "ports"): "only with protocol tcp or udp",
    (models.Flow, "allow_world"): "required (true) when the destinations open the whole internet",
    (models.Stage, "name"): f"{_UNIQUE}; not {', '.join(sorted(values.RESERVED_TARGETS))} (any case)",
    (models.Device, "name"): _UNIQUE,
    (models.Device, "platform"): f"one of {', '.join(sorted(BUILTIN))}, or a driver plugin's platform",
    (models.Device, "credential"): f"{_REFS}; anything else is refused as a literal password",
    (models.Device, "host_key"): _PIN,
    (models.Device, "enable_secret"): _VALUE_REFS,
    (models.Device, "key_passphrase"): _VALUE_REFS,
    (models.Device, "ssh_config"): _SSH_CONFIG,
    (models.Device, "jump"): _JUMP,
    (models.Site, "ssh_config"): _SSH_CONFIG,
    (models.JumpHost, "name"): _UNIQUE,
    (models.JumpHost, "port"): "1 to 65535",
    (models.JumpHost, "credential"): f"{_REFS}; anything else is refused as a literal password",
    (models.JumpHost, "key_passphrase"): _VALUE_REFS,
    (models.JumpHost, "host_key"): _PIN,
    (models.VantagePoint, "name"): _UNIQUE,
    (models.VantagePoint, "exit"): _EXIT,
    (models.VantagePoint, "netns"): "exactly one of netns and ssh_host",
    (models.VantagePoint, "ssh_host"): "exactly one of netns and ssh_host",
    (models.VantagePoint, "credential"): f"{_REFS}; anything else is refused as a literal password; "
                                         f"{_SSH_ONLY}",
    (models.VantagePoint, "ssh_port"): f"1 to 65535; {_SSH_ONLY}",
    (models.VantagePoint, "ssh_user"): _SSH_ONLY,
    (models.VantagePoint, "key_passphrase"): f"{_VALUE_REFS}; {_SSH_ONLY}",
    (models.VantagePoint, "host_key"): f"{_PIN}; {_SSH_ONLY}",
    (models.VantagePoint, "ssh_config"): f"{_SSH_CONFIG}; {_SSH_ONLY}",
    (models.VantagePoint, "jump"): f"{_JUMP}; {_SSH_ONLY}",
    (models.VantagePoint, "egressctl_command"): "up to 16 words of letters, digits and . / _ + = : @ -, "
                                                f"single spaces between (no shell syntax); {_SSH_ONLY}",
    (models.Canary, "name"): _UNIQUE,
    (models.Canary, "address"): "outside the inside prefixes; outside always-allowed prefixes unless "
                                "in_allowed_prefix",
    (models.Canary, "in_allowed_prefix"): "refused when the address is inside no allowed prefix",
    (models.CapturePoint, "exit"): _EXIT,
    (models.Device, "role"): "switch only on a platform whose driver has the switch role (cisco_ios), "
                             "checked by the planner",
    (models.Device, "switch"): "required with role switch, refused with role router",
    (models.SwitchRole, "mode"): "acl needs svis or uplinks; shutdown-uplink needs uplinks and "
                                 "mgmt_interface, and refuses stages at plan time",
    (models.SwitchRole, "svis"): "VlanN, N a VLAN ID 1 to 4094; no interface both an SVI and an uplink",
    (models.SwitchRole, "mgmt_interface"): "with mode shutdown-uplink, the plan is refused when it is an "
                                           "uplink, or a management path runs from outside the site to "
                                           "inside it",
    (models.Group, "name"): "unique in the file",
    (models.Group, "sites"): "names of sites of this file, each once",
}

#: Every validator of the models (pydantic decorator names), once its rule is stated in CHECKS or shown by
#: the field types (the prefix and port parsers). A new validator fails the doc test until it is added.
DOCUMENTED_VALIDATORS: dict[type[BaseModel], set[str]] = {
    models.Inventory: {"_unique_sites", "_unique_groups"},
    models.Site: {"_inside", "_unique", "_attach_ssh"},
    models.Flow: {"_nets", "_ports", "_ports_need_l4"},
    models.ManagementPath: {"_src", "_ports"},
    models.Stage: {"_not_reserved"},
    models.Device: {"_role_settings"},
    models.SwitchRole: {"_svi_names", "_mode_needs"},
    models.VantagePoint: {"_command", "_one_kind"},
}

_PLURALS = {"address": "addresses", "prefix": "prefixes", "canary": "canaries"}
_NAMES = "#names-and-values"

#: Fields whose type is text checked by a validator: their kind in words, linked to where it is explained.
_CRED = "[credential reference](#credential-references)"
_VALUE_REF = "[secret reference](#credential-references)"
_KEY = "SSH public key or known_hosts:PATH"
WORDS: dict[tuple[type[BaseModel], str], str] = {
    **{(m, "credential"): _CRED for m in (models.Device, models.VantagePoint, models.JumpHost)},
    **{(m, "key_passphrase"): _VALUE_REF for m in (models.Device, models.VantagePoint, models.JumpHost)},
    (models.Device, "enable_secret"): _VALUE_REF,
    **{(m, "host_key"): _KEY for m in (models.Device, models.VantagePoint, models.JumpHost)},
    **{(m, "ssh_config"): "path or none" for m in (models.Device, models.VantagePoint, models.Site)},
    (models.VantagePoint, "egressctl_command"): "command words",
}


@dataclass(frozen=True)
class Kind:
    """A type in plain words, its plural (for lists) and the rule its values must follow."""

    words: str
    plural: str
    rule: str = ""


def _plural(words: str) -> str:
    """``IP address`` -> ``IP addresses``, ``name`` -> ``names``."""
    head, _, last = words.rpartition(" ")
    many = _PLURALS.get(last, last + "s")
    return f"{head} {many}" if head else many


def _kind_of(words: str, rule: str = "") -> Kind:
    return Kind(words, _plural(words), rule)


def title(model: type[BaseModel]) -> str:
    """``ManagementPath`` -> ``Management path``: section titles in plain words."""
    words = re.findall(r"[A-Z][a-z]*", model.__name__)
    return " ".join([words[0], *(w.lower() for w in words[1:])])


def anchor(model: type[BaseModel]) -> str:
    """The Markdown anchor of a model's section."""
    return title(model).lower().replace(" ", "-")


_PREFIX = Kind(f"[prefix]({_NAMES})", f"[prefixes]({_NAMES})", "host bits zero")
_ADDRESS = Kind(f"[IP address]({_NAMES})", f"[IP addresses]({_NAMES})")
_PORT = Kind(f"[port or range]({_NAMES})", f"[ports or ranges]({_NAMES})", "1 to 65535")

#: Examples of each kind of value in the Names and values table.
EXAMPLES = {
    "name": "`fgt-primary`, `ministry`",
    "interface or zone name": "`GigabitEthernet0/1`, `ge-0/0/1.0`, `trust`",
    "user name": "`egressctl`",
    "host name or address": "`10.40.250.1`, `fw1.example.net`",
}
VALUE_ROWS = [
    ("prefix", "IPv4 or IPv6 prefix with its length; host bits zero (10.0.0.1/8 is refused); one host is "
     "/32 or /128", "`10.40.0.0/14`, `\"2001:db8:4000::/40\"`"),
    ("IP address", "one IPv4 or IPv6 address, as text", "`10.40.250.1`, `\"2001:db8::1\"`"),
    ("port or range", "1 to 65535; a range is first-last, first <= last, written in quotes",
     "`443`, `\"8000-8080\"`, `[25, 587]`"),
]
_SIMPLE = {int: _kind_of("whole number"), bool: _kind_of("true or false"), str: _kind_of("text"),
           Any: _kind_of("anything")}


def _validator_kind(meta: Iterable[object]) -> Kind | None:
    """The value type a values.py validator stands for (safe names, addresses), if any."""
    for item in meta:
        func = getattr(item, "func", None)
        if func is values.parse_address:
            return _ADDRESS
        if func is not None and func.__qualname__.startswith("_check."):
            what = str(inspect.getclosurevars(func).nonlocals["what"])
            return Kind(f"[{what}]({_NAMES})", f"[{_plural(what)}]({_NAMES})")
    return None


def safe_rule(alias: Any) -> tuple[str, str, str]:
    """A values.py safe-name type's kind, rule and pattern, read from its validator."""
    func = next(m.func for m in typing.get_args(alias)[1:])
    found = inspect.getclosurevars(func).nonlocals
    return str(found["what"]), str(found["rule"]), str(found["pattern"].pattern)


def _union_kind(args: tuple[Any, ...]) -> Kind:
    """A union in words: the two IP families of a prefix or address are one kind."""
    args = tuple(a for a in args if a is not type(None))
    if set(args) == {ipaddress.IPv4Network, ipaddress.IPv6Network}:
        return _PREFIX
    if set(args) == {ipaddress.IPv4Address, ipaddress.IPv6Address}:
        return _ADDRESS
    kinds = [kind(a) for a in args]
    rules = "; ".join(k.rule for k in kinds if k.rule)
    return Kind(" or ".join(k.words for k in kinds), " or ".join(k.plural for k in kinds), rules)


def _container_kind(origin: Any, args: tuple[Any, ...]) -> Kind:
    """``list[X]`` and ``dict[K, V]`` in words."""
    if origin is list:
        inner = kind(args[0])
        return _kind_of(f"list of {inner.plural}", inner.rule)
    if args[1] is Any:
        return _kind_of("mapping")
    key, value = kind(args[0]), kind(args[1])
    rule = "; ".join(f"{what}: {k.rule}" for what, k in (("keys", key), ("values", value)) if k.rule)
    return _kind_of(f"mapping of {key.plural} to {value.plural}", rule)


def kind(tp: Any, meta: Iterable[object] = ()) -> Kind:
    """The plain-words kind of annotation ``tp`` (with a field's ``meta``data)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Annotated:
        return kind(args[0], [*args[1:], *meta])
    found = _validator_kind(meta)
    if found is not None:
        return found
    if origin in (typing.Union, types.UnionType):
        return _union_kind(args)
    if origin in (list, dict):
        return _container_kind(origin, args)
    if origin is Literal:
        shown = ", ".join(f"`{a}`" for a in args)
        return _kind_of(f"one of {shown}" if len(args) > 1 else shown)
    if tp is values.PortRange:
        return _PORT
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        link = f"](#{anchor(tp)})"
        return Kind(f"[{title(tp).lower()}{link}", f"[{_plural(title(tp).lower())}{link}")
    return _SIMPLE.get(tp, _kind_of(getattr(tp, "__name__", str(tp))))


def _yaml_value(value: Any) -> str:
    """A default as it would be written in the file."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{}" if not value else str(value)
    if value == "":
        return '""'
    return str(value)


def default(info: FieldInfo) -> str:
    """``required``, ``optional`` (no value) or the default value."""
    if info.is_required():
        return "**required**"
    factory = typing.cast(Callable[[], Any] | None, info.default_factory)
    value = factory() if factory is not None else info.default
    return "optional" if value is None else f"`{_yaml_value(value)}`"


def _bounds(meta: Sequence[object]) -> list[str]:
    """Length and range limits of a field, in words."""
    low = next((m.ge for m in meta if isinstance(m, annotated_types.Ge)), None)
    high = next((m.le for m in meta if isinstance(m, annotated_types.Le)), None)
    out: list[str] = []
    if low is not None or high is not None:
        out.append(f"{low} to {high}" if low is not None and high is not None
                   else f"at least {low}" if low is not None else f"at most {high}")
    for m in meta:
        if isinstance(m, annotated_types.MinLen):
            out.append(f"at least {m.min_length} item{'s' if m.min_length != 1 else ''}")
    return out


def rules(model: type[BaseModel], name: str, info: FieldInfo) -> str:
    """Everything the loader checks about one field, in words."""
    parts = _bounds(info.metadata)
    own = kind(info.annotation, info.metadata).rule
    parts += [own] if own else []
    parts += [CHECKS[(model, name)]] if (model, name) in CHECKS else []
    return "; ".join(parts)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def field_rows(model: type[BaseModel]) -> Iterator[str]:
    """The Markdown table of ``model``'s fields."""
    yield "| field | type | required / default | rules | description |"
    yield "|---|---|---|---|---|"
    for name, info in model.model_fields.items():
        words = WORDS.get((model, name)) or kind(info.annotation, info.metadata).words
        cells = [f"`{name}`", words, default(info),
                 rules(model, name, info), info.description or ""]
        yield "| " + " | ".join(_cell(c) for c in cells) + " |"


def _inner_models(tp: Any) -> Iterator[type[BaseModel]]:
    """The inventory models an annotation holds (lists, optionals), value types aside."""
    if isinstance(tp, type) and issubclass(tp, BaseModel) and tp.__module__ in MODEL_MODULES:
        yield tp
    for arg in typing.get_args(tp):
        yield from _inner_models(arg)


def sections() -> dict[type[BaseModel], list[str]]:
    """Every model reachable from :class:`Inventory`, in breadth-first order, with its paths in the file."""
    found: dict[type[BaseModel], list[str]] = {models.Inventory: []}
    queue: list[tuple[type[BaseModel], str]] = [(models.Inventory, "")]
    while queue:
        model, path = queue.pop(0)
        for name, info in model.model_fields.items():
            for inner in _inner_models(info.annotation):
                many = "[]" if typing.get_origin(info.annotation) is list else ""  # a list, or one block
                where = f"{path}{'.' if path else ''}{name}{many}"
                found.setdefault(inner, []).append(where)
                queue.append((inner, where))
    return found


def section(model: type[BaseModel], paths: list[str]) -> list[str]:
    """One model's section: where it appears, what it is, and its fields."""
    summary = (model.__doc__ or "").strip().splitlines()[0]
    where = ", ".join(f"`{p}`" for p in paths) or "the top level"
    return [f"## {title(model)}", "", f"{summary.replace('``', '`')} In the file: {where}.", "",
            *field_rows(model), ""]


def value_rows() -> Iterator[str]:
    """The table of safe-name kinds, straight from values.py's patterns and rules."""
    yield "| kind | rule | examples |"
    yield "|---|---|---|"
    for alias in (values.SafeName, values.IfName, values.UserName, values.HostName):
        what, rule, pattern = safe_rule(alias)
        yield f"| {what} | {_cell(rule)} (`{_cell(pattern)}`) | {EXAMPLES[what]} |"
    for what, rule, example in VALUE_ROWS:
        yield f"| {what} | {_cell(rule)} | {example} |"


def example_data() -> dict[str, Any]:
    """The example hospital inventory, trimmed to one item of each list (``EXAMPLE_PICK``)."""
    data: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    site = data["sites"][0]
    for key, picks in EXAMPLE_PICK.items():
        site[key] = [item for i, item in enumerate(site[key]) if i in picks or item.get("name") in picks]
    site["description"] = "Centre Hospitalier Nord, trimmed from inventory/examples/hospital.yaml"
    return {"version": data["version"], "sites": [site]}


class _Dumper(yaml.SafeDumper):
    """YAML in the inventories' style: mappings as blocks, lists of plain values on one line, indented."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        """Indent list items under their key, as the inventories do."""
        super().increase_indent(flow, False)


def _mapping(dumper: yaml.SafeDumper, data: dict[str, Any]) -> yaml.Node:
    return dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=False)


def _sequence(dumper: yaml.SafeDumper, data: list[Any]) -> yaml.Node:
    flat = all(not isinstance(item, dict | list) for item in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flat)


_Dumper.add_representer(dict, _mapping)
_Dumper.add_representer(list, _sequence)


def dump(data: dict[str, Any]) -> str:
    """``data`` as inventory YAML."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=200, allow_unicode=True)


def broken_example() -> tuple[list[str], list[str]]:
    """Three mistakes made in the example, and the loader's report of them."""
    data = example_data()
    site = data["sites"][0]
    site["devices"][0]["credential"] = "Secr3t!"
    flow = site["always_allowed"][0]
    flow["destination"] = flow.pop("destinations")
    site["stages"][0]["allow"][0]["ports"] = [500, 45000, 70000]
    what = ["the device's credential is a password", "a flow says destination: (singular)",
            "a port is 70000"]
    try:
        loader.parse_inventory(dump(data), "site.yaml")
    except InventoryError as exc:
        return what, [str(p) for p in exc.problems]
    raise AssertionError("the broken example loaded; change broken_example() so it shows errors")


INTRO = """\
# Inventory reference

<!-- Generated by `{command}` from egressctl/inventory/models.py.
     Edit the models' Field descriptions (or the script), then regenerate:
     tests/egressctl/inventory/test_doc.py fails when this file is stale. -->

An inventory is one YAML file (UTF-8) describing one or more sites: what is inside, the management paths
that must never be cut, what stays allowed, the restore stages, the devices egressctl changes, and how the
cut is proven. It holds no secrets, only references to them. Commands read the file given with `-i FILE`,
else `$EGRESSCTL_INVENTORY`, else `./inventory/lab.yaml` (or the inventory of the emulated lab that is up).

Sections: {toc}.
"""

ERRORS = """\
## How problems are reported

egressctl reads and checks the whole file before it does anything. Every problem is reported at once, one
per line, as `file:line: field: message`, and the command exits 2 without contacting any device. The field
is the path to the value; list items are named by their `name` when they have one, by their position
(from 0) otherwise: `sites[chn].devices[fgt-primary].credential`, `sites[chn].captures[1].interface`.
`egressctl -i FILE plan SITE --to isolated --offline` checks a file (and shows the plan) without
connecting to anything.

For example, if in the [example below](#minimal-complete-example) {what}:

```text
{problems}
```

YAML traps: quote IPv6 values (`"::/0"`, `"2001:db8::1"`; `[::/0]` is a YAML syntax error), and names
such as `no`, `off` or `yes` (YAML reads them as true/false). A key written twice, anchors that expand
without bound and tags such as `!vault` are refused.
"""

CREDENTIALS = """\
## Credential references

A device, an SSH vantage point and a jump host name where their secrets are, never the secrets
themselves. A literal password in `credential`, or a key such as `password:` or `secret:`, is refused.

| reference | what egressctl uses | example |
|---|---|---|
| `env:VAR` | the password in environment variable `VAR` of the egressctl process | `env:CHN_FGT_PASSWORD` |
| `file:PATH` | the password in file `PATH` (trailing newlines dropped) | `file:/etc/egressctl/fw.secret` |
| `cmd:COMMAND` | the first line `COMMAND` prints (password manager, vault) | `cmd:pass show chn/fgt` |
| `key:PATH` | SSH key login with private key file `PATH` (and `key_passphrase`) | `key:~/.ssh/egressctl` |
| `agent` | SSH public-key login with the keys of the running SSH agent (`$SSH_AUTH_SOCK`) | `agent` |

In `PATH`, `{{state}}` expands to egressctl's state directory (`--state-dir`, `$EGRESSCTL_STATE_DIR` or
`~/.local/state/egressctl`) and `~` to the home directory. References are resolved only when connecting;
before `isolate`, `restore` or a non-offline `plan` contacts any device, every reference is resolved once
and any that fails (unset variable, missing file, failing command) stops the command with exit 2,
listing them all. Resolved secrets are scrubbed from output, logs and the journal.

`cmd:` runs `COMMAND` without a shell (split like a shell would split it, so quote words with spaces;
`{{state}}` and a leading `~` expand in every word), with no input, its error output discarded, for at most
{timeout:g} seconds; it must exit 0 and print the secret on its first line. For example `cmd:pass show
chn/fgt`, `cmd:vault kv get -field=password secret/chn/fgt`, `cmd:op read op://chn/fgt/password` or
`cmd:secret-tool lookup service egressctl host fgt`. A failure names the reference, never what the command
printed. Each command runs once per egressctl run, however many sessions use its answer.

Two more secrets are references too, of the kinds that hold a value (`env:`, `file:` or `cmd:`):
`enable_secret`, a device's enable (Cisco IOS) or sudo (Linux) secret when it is not the login password, and
`key_passphrase`, the passphrase of a `key:` file or of ssh_config's `IdentityFile`.
"""

SSH = """\
## SSH access: ssh_config, jump hosts and pinned keys

egressctl reaches devices and SSH vantage points as the engineers' own `ssh` does, through the ssh_config
file in effect: the device's (or vantage point's) `ssh_config`, else the site's, else `~/.ssh/config`
when it exists (`ssh_config: none` reads none). From it egressctl takes, for the host written in `host`
(or `ssh_host`), `HostName`, `Port` (unless the inventory writes a port), `User` (for vantage points and
jump hosts; a device always logs in as its `username`), `IdentityFile` (offered before the credential,
unless that is a `key:` file), `ProxyJump` and `ProxyCommand`; `Include` files are read where they are
named (relative paths from `~/.ssh`).

A jump host (bastion) must be listed in the site's `jump_hosts` with its own pinned `host_key`. A device
or vantage point goes through one when it says `jump: NAME`, or when the ssh_config gives it a `ProxyJump`
naming the jump host (by its `name`, which is usually the `Host` alias, or by its `host`); chains
(`ProxyJump a,b`, or a jump host's own ProxyJump) work hop by hop, each one pinned. A ProxyJump through a
host that is not in `jump_hosts` is refused before anything is opened, and a jump host that shows another
key is dropped right after the key exchange: no credential is sent to it, nor through it to the device,
whose own key is then checked the same way. The TCP connection to the first host may come from
`ProxyCommand` (run as ssh runs it); when an ssh_config gives both, `ProxyJump` wins. A device's
`revert_host` (the jump host its revert job runs on: PAN-OS, ASA) is logged in to exactly as its `jump:`
would reach it: the entry's fields, then ssh_config's `HostName`, `Port`, `User` and `IdentityFile` for its
`name`, and its own `ProxyJump` chain, so a bastion described in ssh_config needs only its pin here.

A connection that fails for a reason that may pass (refused, reset, timed out) is retried once, two
seconds later; an authentication failure or a wrong host key never is.
"""

NAMES = """\
## Names and values

Anything that can end up inside a device command is restricted to a safe pattern, so a value can never
inject a command. The field tables below link here for these kinds:

{names}
"""


def render() -> str:
    """The whole of docs/inventory.md."""
    found = sections()
    toc = ", ".join(f"[{title(m)}](#{anchor(m)})" for m in found)
    what, problems = broken_example()
    example = dump(example_data())
    loader.parse_inventory(example, "example")  # the example must load, or the document is wrong
    parts = [
        INTRO.format(command=COMMAND, toc=toc),
        ERRORS.format(what=", ".join(what[:-1]) + " and " + what[-1], problems="\n".join(problems)),
        CREDENTIALS.format(timeout=cmdsecret.TIMEOUT),
        SSH,
        NAMES.format(names="\n".join(value_rows())),
        "## Minimal complete example\n\nOne site with one item of each kind, taken from "
        "`inventory/examples/hospital.yaml` (read it for a full site with two exits and three stages):\n\n"
        f"```yaml\n{example}```\n",
        *("\n".join(section(m, paths)) for m, paths in found.items()),
    ]
    return "\n".join(parts).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the document; 1 when ``--check`` finds it stale."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="only compare; exit 1 when stale")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to write (default: %(default)s)")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text() if args.output.is_file() else ""
        if current != text:
            print(f"{args.output} is stale; regenerate it with: {COMMAND}", file=sys.stderr)
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
