"""Every write of the distribution app."""
