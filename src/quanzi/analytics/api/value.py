"""API v1: analytics — value."""

from ninja import Router

router = Router(tags=["analytics"])
