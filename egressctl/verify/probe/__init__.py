"""Active probes from vantage points inside the site.

The matrix a target's policy expects, the probe engine run inside each vantage point (``python -m
egressctl.verify.probe``), reply classification, and the verdict of the whole matrix.
"""
