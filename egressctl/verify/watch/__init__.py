"""Live leak watch on a site's upstream links.

An agent per capture point (``python -m egressctl.verify.watch.agent``) reads a TPACKET_V3 ring behind a
site filter and judges every packet; the controller side merges their streams into one report.
"""
