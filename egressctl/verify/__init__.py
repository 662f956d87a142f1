"""egressctl verify."""
