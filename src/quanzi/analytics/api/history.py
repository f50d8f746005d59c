"""API v1: analytics — history."""

from ninja import Router

router = Router(tags=["analytics"])
