"""API v1: Invitations: create, revoke, redeem."""

# No ``from __future__ import annotations``: Ninja resolves a handler's annotations in the
# globals of the function it registers, and ``@paginate`` wraps the handler in a function from
# ninja.pagination, where ``Query[...]`` as a string cannot be resolved (see quanzi.core.api).
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from quanzi.api.pagination import Page
from quanzi.api.schemas import ERRORS, AwareDatetime
from quanzi.communities import selectors
from quanzi.communities.api._common import INT, _group, _membership, _plan
from quanzi.communities.api.groups import SeatOut
from quanzi.communities.api.memberships import MembershipOut
from quanzi.communities.models import (
    Invitation,
)
from quanzi.communities.services import invitations, joining
from quanzi.core import clock
from quanzi.core.errors import NotFound
from quanzi.members.selectors import member_get

router = Router()


# Invitations


class InvitationOut(Schema):
    id: int
    code: str
    community_id: int
    group_id: int | None
    plan_id: int | None
    channel: str
    content: str
    note: str
    expires_at: datetime | None
    max_uses: int | None
    uses: int
    revoked_at: datetime | None
    created_at: datetime
    state: str = Field(description="usable, revoked, expired or used_up.")

    @staticmethod
    def resolve_state(obj: Invitation) -> str:
        if obj.revoked_at:
            return "revoked"
        if obj.expires_at and obj.expires_at <= clock.now():
            return "expired"
        if obj.max_uses is not None and obj.uses >= obj.max_uses:
            return "used_up"
        return "usable"


class InvitationCreateIn(Schema):
    channel: str = Field(max_length=200, description="Where it is shared: douyin, wechat, ...")
    group_id: int | None = Field(None, description="The group it leads to; or give plan_id.")
    plan_id: int | None = Field(None, description="The plan it leads to; or give group_id.")
    content: str = Field("", max_length=1000, description="The content piece it is shared in.")
    note: str = Field("", max_length=1000)
    expires_at: AwareDatetime | None = None
    max_uses: int | None = Field(None, le=INT)


class RedeemIn(Schema):
    code: str = Field(max_length=64)
    member_id: int


class RedeemOut(Schema):
    invitation: InvitationOut
    seat: SeatOut | None = Field(description="The group seat, for an invitation to a group.")
    waiting_position: int | None
    membership: MembershipOut | None = Field(description="For an invitation to a plan.")


@router.get("/communities/{slug}/invitations", response=list[InvitationOut], tags=["invitations"])
@paginate(Page)
def invitation_list(request: HttpRequest, slug: str) -> Any:
    """The community's invitations, newest first."""
    return selectors.invitation_list(community=selectors.community_by_slug(slug))


@router.post(
    "/communities/{slug}/invitations",
    response={201: InvitationOut, **ERRORS},
    tags=["invitations"],
)
def invitation_create(
    request: HttpRequest, slug: str, payload: InvitationCreateIn
) -> Status[Invitation]:
    """A code for one channel (and content piece), leading to a group or a plan, optionally
    with an expiry and a use limit."""
    community = selectors.community_by_slug(slug)
    group = _group(community, payload.group_id) if payload.group_id is not None else None
    plan = _plan(community, payload.plan_id, "plan_id") if payload.plan_id is not None else None
    invitation = joining.invitation_create(
        community=community,
        channel=payload.channel,
        group=group,
        plan=plan,
        content=payload.content,
        note=payload.note,
        expires_at=payload.expires_at,
        max_uses=payload.max_uses,
        actor_id=request.user.pk,
    )
    return Status(201, invitation)


@router.post(
    "/communities/{slug}/invitations/{invitation_id}/actions/revoke",
    response={200: InvitationOut, **ERRORS},
    tags=["invitations"],
)
def invitation_revoke(request: HttpRequest, slug: str, invitation_id: int) -> Invitation:
    """Withdraw an invitation; it can no longer be redeemed."""
    community = selectors.community_by_slug(slug)
    invitation = selectors.invitation_list(community=community).filter(pk=invitation_id).first()
    if invitation is None:
        raise NotFound(
            _("%(community)s has no invitation #%(pk)s.")
            % {"community": community.name, "pk": invitation_id},
            field="invitation",
        )
    return joining.invitation_revoke(invitation=invitation, actor_id=request.user.pk)


@router.post(
    "/invitations/actions/redeem", response={200: RedeemOut, **ERRORS}, tags=["invitations"]
)
def invitation_redeem(request: HttpRequest, payload: RedeemIn) -> dict[str, Any]:
    """Use an invitation for a member: joins its group (or the waiting list), or starts a
    membership of its plan, attributed to the invitation's channel. One use is taken
    atomically with it; expired, used up or revoked: 409 invitation_unusable."""
    invitation = joining.invitation_get(payload.code)
    member = member_get(payload.member_id)
    redeemed = invitations.invitation_redeem(
        invitation=invitation, member=member, actor_id=request.user.pk
    )
    invitation.refresh_from_db()
    return {
        "invitation": invitation,
        "seat": redeemed.seat,
        "waiting_position": redeemed.waiting_position,
        "membership": _membership(redeemed.membership.pk) if redeemed.membership else None,
    }
