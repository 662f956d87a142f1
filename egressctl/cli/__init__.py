"""egressctl cli."""
