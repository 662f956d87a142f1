"""egressctl lab."""
