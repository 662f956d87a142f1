"""egressctl tui."""
