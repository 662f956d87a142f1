"""``Remarks``: what the remarks of one of egressctl's ACLs say, read in order (IOS, EOS, ASA).

On the platforms whose ACL entries carry no comment of their own, egressctl writes its marker, the
operation's stamp and each rule's name as ``remark`` lines (see each platform's ``render.py``). Reading
them back is the same logic on all of them (the first marker wins, a stamp counts only above the first
rule, any other remark names the rules below it), so it lives here once; the parsing of the entries
themselves is vendor syntax and stays in each ``parse.py``.
"""

from __future__ import annotations

from egressctl_drivers.common.state import MARKER_RE, STAMP_RE


class Remarks:
    """The marker, stamp and current rule name of one ACL, fed one remark text at a time."""

    def __init__(self) -> None:
        self.marker, self.stamp, self.name = "", "", "entry"

    def read(self, text: str, *, rules_seen: bool) -> None:
        """Take one remark's text: the marker (first one kept), the stamp (before any rule), else a name."""
        if MARKER_RE.search(text):
            self.marker = self.marker or text
        elif STAMP_RE.search(text) and not rules_seen:
            self.stamp = self.stamp or text
        else:
            self.name = text

    def marker_text(self) -> str:
        """The marker followed by the stamp's words when both are there (what ``build_state`` reads)."""
        return f"{self.marker} {self.stamp}" if self.marker and self.stamp else self.marker
