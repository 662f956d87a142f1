"""SSH as engineers use it: ssh_config, jump hosts with pinned keys, ProxyCommand, and one retry.

``route`` merges the inventory with the ssh_config file in effect into the path a login takes (pure, no
network); ``tunnel`` opens that path's jump hosts with paramiko, each checked against its pinned key
before any credential is sent, and hands back the socket the final session runs over; ``retry`` is the
one-retry policy for transient connect failures. Device drivers (``egressctl_drivers.common.session``)
and SSH vantage points (``egressctl.verify.probe.ssh``) share all three. Nothing here is imported until a
connection is made (paramiko is heavy).
"""
