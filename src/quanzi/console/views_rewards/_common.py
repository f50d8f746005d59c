"""What the crystal pages share: the page frame (community, switch, tabs with the count of
redemptions to hand over) and how a page answers."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from quanzi.communities.models import Community
from quanzi.console.commerce import commerce_context
from quanzi.rewards.models import Redemption, RedemptionStatus

URL_NAME = "console:crystals"
MAX_ROWS = 100


def page(community: Community, tab: str) -> dict[str, Any]:
    return {
        **commerce_context(community, section="crystals", url_name=URL_NAME),
        "tab": tab,
        "open_redemptions": Redemption.objects.filter(
            community=community, status=RedemptionStatus.PLACED
        ).count(),
    }


def respond(
    request: HttpRequest, template: str, context: dict[str, Any], *, status: int | None = None
) -> HttpResponse:
    return render(request, f"console/crystals/{template}", context, status=status or 200)


def failed(*forms: Any) -> int:
    return 422 if any(form is not None and form.errors for form in forms) else 200
