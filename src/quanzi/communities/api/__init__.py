"""API v1 routes of the communities domain, one module per resource."""

from ninja import Router

from quanzi.communities.api import communities, groups, invitations, memberships, plans

router = Router()
for part in (communities, groups, plans, memberships, invitations):
    router.add_router("", part.router)
