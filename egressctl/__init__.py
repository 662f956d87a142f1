"""egressctl: cut a site off the internet in one action, prove the cut with packets, restore in stages."""

__version__ = "0.1.0"
