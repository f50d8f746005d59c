"""API v1: A community's distribution terms."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers (see quanzi.core.api).
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema

from quanzi.api.schemas import ERRORS, PatchIn
from quanzi.communities.selectors import community_by_slug
from quanzi.distribution.api._common import path_text
from quanzi.distribution.models import DistributionSettings
from quanzi.distribution.services import settings as service

router = Router(tags=["distribution settings"])


class DistributionSettingsOut(Schema):
    community_id: int
    attribution_days: int = Field(
        description="An order goes to the last sharer whose link the buyer opened within "
        "this many days (1-90)."
    )
    binding_days: int = Field(
        description="锁客: a member a sharer brought in stays theirs this many days (0: none)."
    )
    second_level: bool = Field(
        description="Also pay the one who referred the sharer; never a third level."
    )
    return_window_days: int = Field(
        description="Commission matures this many days after the goods were received (0-90)."
    )
    min_payout_minor: int = Field(description="A payout batch leaves out smaller balances.")
    currency: str
    updated_at: datetime | None = Field(description="null: the defaults, never changed.")


class DistributionSettingsIn(PatchIn):
    attribution_days: int | None = Field(None, description="1-90.")
    binding_days: int | None = Field(None, description="0-365.")
    second_level: bool | None = None
    return_window_days: int | None = Field(None, description="0-90.")
    min_payout_minor: int | None = Field(None, description="1 fen to 1,000,000 yuan.")


def _out(terms: DistributionSettings) -> dict[str, Any]:
    return {
        "community_id": terms.community_id,
        "attribution_days": terms.attribution_days,
        "binding_days": terms.binding_days,
        "second_level": terms.second_level,
        "return_window_days": terms.return_window_days,
        "min_payout_minor": terms.min_payout_minor,
        "currency": terms.community.currency,
        "updated_at": terms.updated_at,
    }


@router.get(
    "/communities/{slug}/distribution-settings",
    response={200: DistributionSettingsOut, **ERRORS},
)
def distribution_settings_get(request: HttpRequest, slug: str) -> dict[str, Any]:
    """The community's terms; the defaults until the operator changes one."""
    return _out(service.distribution_settings_get(community_by_slug(path_text(slug, 50))))


@router.patch(
    "/communities/{slug}/distribution-settings",
    response={200: DistributionSettingsOut, **ERRORS},
)
def distribution_settings_update(
    request: HttpRequest, slug: str, payload: DistributionSettingsIn
) -> dict[str, Any]:
    """Change the terms sent; the others stay. A value out of range: 422 naming it, nothing
    changed. Terms apply to orders paid from now on: commission already accrued keeps the
    return window it was accrued with."""
    community = community_by_slug(path_text(slug, 50))
    service.distribution_settings_update(
        community=community, actor_id=request.user.pk, **payload.model_dump(exclude_unset=True)
    )
    return _out(service.distribution_settings_get(community))
