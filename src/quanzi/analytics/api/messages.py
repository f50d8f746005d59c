"""API v1: analytics — messages."""

from ninja import Router

router = Router(tags=["analytics"])
