"""Every ``--json`` document: one versioned shape each, written as plain JSON text.

Each document carries a top-level ``schema`` (``egressctl.plan/1``...) naming its JSON Schema in the
repository's ``schemas/`` folder (``plan.schema.json``...). Within a version keys are only ever added, so
a consumer checks the name and the number after the slash and ignores keys it does not know; removing or
changing a key means a new number.

JSON never goes through a rich Console: a console would read ``[bold]`` as markup and ``:100:`` as an
emoji code and rewrite the data (``2001:100::1`` came out as ``2001💯:1``). Secrets are redacted value by
value before encoding, so an escaped quote in a secret cannot slip past the redaction.
"""

from __future__ import annotations

import json
from typing import Any

from egressctl.cli import stdout
from egressctl.inventory.credentials import redact

PLAN = "egressctl.plan/1"
OPERATION = "egressctl.operation/1"
EVENT = "egressctl.event/1"
STATUS = "egressctl.status/1"
OVERVIEW = "egressctl.status-overview/1"
HISTORY = "egressctl.history/1"
CHAIN = "egressctl.history-check/1"
UNLOCK = "egressctl.unlock/1"
VERIFY_ACTIVE = "egressctl.verify-active/1"
VERIFY_CAPTURE = "egressctl.verify-capture/1"
VERIFY_WATCH = "egressctl.verify-watch/1"
WATCH_EVENT = "egressctl.watch-event/1"
PROBE = "egressctl.probe/1"
CHECK = "egressctl.check/1"
ESTATE = "egressctl.estate/1"

ALL = (PLAN, OPERATION, EVENT, STATUS, OVERVIEW, HISTORY, CHAIN, UNLOCK, VERIFY_ACTIVE, VERIFY_CAPTURE,
       VERIFY_WATCH, WATCH_EVENT, PROBE, CHECK, ESTATE)


def schema_file(schema: str) -> str:
    """The file in ``schemas/`` that describes ``schema`` (``egressctl.plan/1`` -> ``plan.schema.json``)."""
    return schema.removeprefix("egressctl.").split("/")[0] + ".schema.json"


def versioned(schema: str, doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` with its ``schema`` added (existing keys untouched)."""
    return {**doc, "schema": schema}


def redacted(value: Any) -> Any:
    """``value`` with every known secret replaced in every string it contains."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redacted(k): redacted(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redacted(v) for v in value]
    return value


def dumps(schema: str, doc: dict[str, Any], *, indent: int | None = None) -> str:
    """The JSON text of one versioned document (keys sorted, ASCII only, non-JSON values as strings)."""
    return json.dumps(redacted(versioned(schema, doc)), indent=indent, sort_keys=True, default=str)


def emit(schema: str, doc: dict[str, Any], *, indent: int | None = 2) -> None:
    """Write one document to stdout, followed by a newline (one line when ``indent`` is None)."""
    stdout.write(dumps(schema, doc, indent=indent) + "\n")
