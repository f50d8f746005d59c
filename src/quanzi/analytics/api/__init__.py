"""API v1 routes of analytics: messages in, health metrics, warnings and member value."""

from ninja import Router

from quanzi.analytics.api import health, history, messages, metrics, value

router = Router()
for part in (messages, history, metrics, health, value):
    router.add_router("", part.router)
