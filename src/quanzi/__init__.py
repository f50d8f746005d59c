"""Quanzi (圈子): a self-hosted private-domain community commerce hub."""

__version__ = "0.1.0"
