"""egressctl vendor drivers, one folder per platform (installed as ``egressctl_drivers``)."""
