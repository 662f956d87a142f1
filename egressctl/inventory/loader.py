"""Load inventory YAML with precise error locations, refusing anything it cannot trust.

The file is read as bytes and decoded as UTF-8 here (a leading byte order mark is accepted), so an
undecodable byte is a located problem rather than a ``UnicodeDecodeError``. The YAML is composed into nodes
(``yamlnodes``) so every value keeps its line; its alias expansion is bounded first (``yamlsize``). The
data is then checked by the pydantic models and, in the same pass, across the site (``crossref``), and
every problem is reported at once as ``file:line: field: message``. Nothing is returned (so nothing can be
changed) unless the whole file is valid.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from egressctl.errors import InventoryError, InventoryProblem
from egressctl.inventory.crossref import check_inventory
from egressctl.inventory.messages import field_name, validation_findings
from egressctl.inventory.models import Inventory
from egressctl.inventory.yamlnodes import Converter, FatalYaml, Finding, compose
from egressctl.inventory.yamlsize import measure

_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def decode(raw: bytes, filename: str) -> str:
    """UTF-8 text of ``raw`` without its byte order mark.

    Raises:
        InventoryError: the bytes are not UTF-8, located at the line of the first bad byte.
    """
    if raw.startswith(_UTF16_BOMS):
        message = "the file is UTF-16 (or UTF-32) text; save it as UTF-8"
        raise InventoryError([InventoryProblem(filename, 1, "(file)", message)])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        message = (f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {column}); "
                   "save it as UTF-8")
        raise InventoryError([InventoryProblem(filename, line, "(file)", message)]) from None


def _problem(filename: str, finding: Finding, data: Any) -> InventoryProblem:
    return InventoryProblem(filename, finding.line, field_name(finding.loc, data), finding.message)


def _read(text: str, filename: str) -> tuple[Any, Converter]:
    """Data and line map of ``text``, or the one problem that stops reading it."""
    try:
        root = compose(text.removeprefix("\ufeff"))
        if root is None:
            raise InventoryError([InventoryProblem(filename, 1, "(top level)", "the file is empty")])
        measure(root)
    except FatalYaml as exc:
        where = field_name(exc.finding.loc, None) if exc.finding.loc else "(yaml)"
        problem = InventoryProblem(filename, exc.finding.line, where, exc.finding.message)
        raise InventoryError([problem]) from None
    converter = Converter()
    return converter.convert(root), converter


def parse_inventory(text: str, filename: str = "<inventory>") -> Inventory:
    """Parse and validate inventory text.

    Raises:
        InventoryError: with one problem per invalid field, each with file, line and field.
    """
    # Imported here: the registry imports the driver contract, which imports these models.
    from egressctl.registry import platforms

    data, converter = _read(text, filename)
    findings = [*converter.findings, *check_inventory(data, converter.lines, platforms)]
    inventory = None
    try:
        inventory = Inventory.model_validate(data)
    except ValidationError as exc:
        findings += validation_findings(exc, data, converter.lines)
    if findings or inventory is None:
        findings.sort(key=lambda f: f.line)
        raise InventoryError([_problem(filename, f, data) for f in findings])
    return inventory


def load_inventory(path: str | Path) -> Inventory:
    """Load and validate an inventory file.

    Raises:
        InventoryError: the file is missing, unreadable, not UTF-8 or invalid.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InventoryError([InventoryProblem(str(p), 0, "(file)", exc.strerror or str(exc))]) from None
    return parse_inventory(decode(raw, str(p)), str(p))
