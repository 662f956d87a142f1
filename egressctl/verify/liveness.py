"""Never proven from silence: a watch or a capture is clean only if it saw traffic it can account for.

Zero leak packets on a link proves nothing when the link carried nothing of the site's: the capture may be
on the wrong interface, the link idle, or the traffic routed elsewhere. A capture point (live) or a file
(offline) is *verified* only when it holds packets leaving the site (``site_packets``, the matcher's
subject packets) and some of them are ones the policy allows (``allowed_packets``: the allowed probes
crossing that exit during verification, held allowed flows, or the site's own permitted traffic). A leaf
module: the watch report, the capture report and the JUnit writer all apply this one rule.
"""

from __future__ import annotations

from typing import Any


def liveness(site_packets: int, allowed_packets: int) -> dict[str, Any]:
    """``{"status": "verified"|"unverified", "reason", "site_packets", "allowed_packets"}``."""
    if site_packets <= 0:
        status, reason = "unverified", ("no packet from the site: wrong or idle link, or the site's traffic "
                                        "does not cross it; silence proves nothing")
    elif allowed_packets <= 0:
        status, reason = "unverified", (f"{site_packets} packets from the site but none the policy allows: "
                                        "nothing shows this link carries the site's permitted traffic")
    else:
        status, reason = "verified", (f"{site_packets} packets from the site, {allowed_packets} of them "
                                      "allowed by the policy")
    return {"status": status, "reason": reason, "site_packets": int(site_packets),
            "allowed_packets": int(allowed_packets)}


def verified(doc: dict[str, Any] | None) -> bool:
    """True for a liveness document whose status is ``verified``."""
    return doc is not None and doc.get("status") == "verified"
