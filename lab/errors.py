"""The lab's own error type.

The lab is a plugin of the product, never the reverse: its error derives from the product's root so the
CLI's one error boundary reports it, but the product's error tree does not know it exists.
"""

from __future__ import annotations

from egressctl.errors import EgressError


class LabError(EgressError):
    """The emulated lab cannot be built, reached or torn down."""
