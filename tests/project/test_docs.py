"""Documents that must not drift from the code: the exit-code table in the README and the runbook."""

from __future__ import annotations

from pathlib import Path

import pytest

from egressctl.exitcodes import markdown_table

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("doc", ["README.md", "docs/runbook.md"])
def test_exit_code_table_is_the_code_s(doc: str) -> None:
    assert markdown_table() in (ROOT / doc).read_text(), f"{doc}: paste egressctl.exitcodes.markdown_table()"


def test_documents_linked_from_the_readme_exist() -> None:
    text = (ROOT / "README.md").read_text()
    for name in ("docs/inventory.md", "docs/runbook.md", "docs/vendors.md"):
        assert f"({name})" in text and (ROOT / name).exists(), name
