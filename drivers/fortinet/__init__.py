"""FortiGate driver (FortiOS firewall policies, cfg-save revert dead-man switch)."""
