"""API v1: analytics — metrics."""

from ninja import Router

router = Router(tags=["analytics"])
