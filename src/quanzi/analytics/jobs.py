"""Scheduled analytics work: rollups, health warnings, member value."""
