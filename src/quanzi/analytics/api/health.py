"""API v1: analytics — health."""

from ninja import Router

router = Router(tags=["analytics"])
