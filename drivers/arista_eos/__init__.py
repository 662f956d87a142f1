"""Arista EOS driver: ACLs applied out on the uplinks, configuration sessions with ``commit timer``."""
