"""egressctl lab/emu."""
