"""What the console's commerce pages (catalog, orders, shipping, after-sales) share: the
community they work on, and the operator who acts.

The commerce pages work on one community at a time: ``/console/<section>/`` picks it (the one
there is, the last one used, or a choice of tiles) and every page has a switch to another.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from quanzi.communities import selectors as communities
from quanzi.communities.models import Community
from quanzi.core.errors import NotFound

SESSION_KEY = "console_commerce_community"


def actor(request: HttpRequest) -> int | None:
    return int(request.user.pk) if request.user.pk is not None else None


def community_or_404(request: HttpRequest, slug: str) -> Community:
    """The community named in the URL; remembered, so the next commerce page opens on it."""
    try:
        community = communities.community_by_slug(slug)
    except NotFound as exc:
        raise Http404(exc.message) from None
    request.session[SESSION_KEY] = community.slug
    return community


def choose_community(request: HttpRequest, *, section: str, url_name: str) -> HttpResponse:
    """``/console/<section>/``: straight to the community last worked on (or the only one),
    otherwise a choice of tiles."""
    listed = list(communities.community_list())
    slugs = [c.slug for c in listed]
    remembered = request.session.get(SESSION_KEY)
    if remembered in slugs:
        return redirect(url_name, slug=remembered)
    if len(listed) == 1:
        return redirect(url_name, slug=listed[0].slug)
    context = {
        "tiles": [(c, reverse(url_name, args=[c.slug])) for c in listed],
        "section": section,
    }
    return render(request, "console/commerce/choose.html", context)


def commerce_context(community: Community, *, section: str, url_name: str) -> dict[str, Any]:
    """What every commerce page shows around its content: the community and the switch."""
    return {
        "community": community,
        "section": section,
        "switch": [
            (c, reverse(url_name, args=[c.slug]))
            for c in communities.community_list()
            if c.pk != community.pk
        ],
    }
