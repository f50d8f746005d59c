"""Member pages (H5): the welcome page, opening an invitation and joining, personal sign-in
links and "My memberships".

A browser is signed in as a member only when it created that member, or when it opened the
member's personal link. Typing a phone number that is already known never signs anyone in:
anyone can type a number. That member is sent a personal link (through the outbox) instead.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from quanzi.communities import selectors as communities
from quanzi.communities.models import Invitation, MembershipPlan, MembershipStatus, PlanKind
from quanzi.communities.services.errors import InvitationUnusable
from quanzi.communities.services.invitations import invitation_redeem, member_sign_in_link_queue
from quanzi.communities.services.joining import (
    invitation_check,
    invitation_get,
)
from quanzi.core import clock
from quanzi.core.errors import ApplicationError, NotFound
from quanzi.core.money import Money
from quanzi.h5.forms import JoinForm
from quanzi.members import selectors as members
from quanzi.members.models import IdentityKind, Member
from quanzi.members.services import (
    IdentityIn,
    member_identify,
    member_record_consent,
    member_sign_in_token_create,
)

SESSION_MEMBER = "h5_member"
SESSION_JOINED = "h5_joined"
# The privacy notice a member agrees to when joining; bump it when the notice changes.
PRIVACY_NOTICE_VERSION = "2026-01"


def signed_in_member(request: HttpRequest) -> Member | None:
    pk = request.session.get(SESSION_MEMBER)
    if not isinstance(pk, int):
        return None
    try:
        member = members.member_current(members.member_get(pk))
    except NotFound:
        return None
    return member if member.is_active_record else None


def _sign_in(request: HttpRequest, member: Member) -> None:
    request.session.cycle_key()  # a new session id: no fixation from before the sign-in
    request.session[SESSION_MEMBER] = member.pk


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "h5/home.html", {"tab": "home", "member": signed_in_member(request)})


@require_GET
def privacy(request: HttpRequest) -> HttpResponse:
    return render(request, "h5/privacy.html", {"tab": "", "version": PRIVACY_NOTICE_VERSION})


# --- Invitations -------------------------------------------------------------------------------


def _refusal_reason(invitation: Invitation) -> str:
    if invitation.revoked_at:
        return "withdrawn"
    if invitation.expires_at and invitation.expires_at <= clock.now():
        return "expired"
    return "used_up"


def _refuse(request: HttpRequest, reason: str, invitation: Invitation | None) -> HttpResponse:
    # Gone for good (expired, withdrawn, unknown); a conflict while it is used up, since the
    # owner may raise the limit.
    status = {"used_up": 409, "not_found": 404}.get(reason, 410)
    context = {"reason": reason, "invitation": invitation, "tab": ""}
    return render(request, "h5/refusal.html", context, status=status)


def _offer(invitation: Invitation) -> dict[str, Any]:
    """What the invitation leads to, in the words the page shows."""
    plan: MembershipPlan | None = invitation.plan
    if plan is None:
        return {"plan": None, "group": invitation.group}
    groups = list(plan.groups.filter(archived_at__isnull=True))
    return {
        "plan": plan,
        "group": None,
        "price": Money(plan.price_minor, plan.currency).format() if plan.price_minor else "",
        "goods_value": Money(plan.goods_value_minor, plan.currency).format(),
        "groups": groups,
        "joinable": plan.active and plan.kind != PlanKind.PRODUCT_GRANT,
        "free": plan.kind == PlanKind.FREE,
    }


def _send_sign_in_link(request: HttpRequest, member: Member, invitation: Invitation) -> None:
    token = member_sign_in_token_create(member=member)
    link = request.build_absolute_uri(reverse("h5:login", args=[token]))
    member_sign_in_link_queue(member=member, community=invitation.community, link=link)


def _join(request: HttpRequest, invitation: Invitation, form: JoinForm) -> dict[str, Any]:
    """Identify, take a use of the invitation, join; all of it or none of it."""
    data = form.cleaned_data
    current = signed_in_member(request)
    with transaction.atomic():
        member, created = _identify(invitation, data["display_name"], data["phone"])
        own = created or (current is not None and current.pk == member.pk)
        redeemed = invitation_redeem(invitation=invitation, member=member)
        result: dict[str, Any] = {"code": invitation.code, "name": member.display_name}
        if redeemed.membership is not None:
            result.update(kind="plan", status=redeemed.membership.status)
        else:
            result.update(kind="group", position=redeemed.waiting_position)
        if own:
            # Only the person themself agrees to the notice, not someone typing their number.
            member_record_consent(member=member, version=PRIVACY_NOTICE_VERSION)
        else:
            _send_sign_in_link(request, member, invitation)
        result["link_sent"] = not own
    if created:
        _sign_in(request, member)
    return result


def _identify(invitation: Invitation, name: str, phone: str) -> tuple[Member, bool]:
    return member_identify(
        display_name=name,
        identities=[IdentityIn(IdentityKind.PHONE, phone)],
        source_channel=invitation.channel,
        source_content=invitation.content,
    )


@require_http_methods(["GET", "POST"])
def invitation(request: HttpRequest, code: str) -> HttpResponse:
    try:
        found = invitation_get(code)
    except NotFound:
        return _refuse(request, "not_found", None)
    try:
        invitation_check(found)
    except InvitationUnusable:
        return _refuse(request, _refusal_reason(found), found)
    current = signed_in_member(request)
    form = JoinForm(
        request.POST or None,
        initial={"display_name": current.display_name} if current else None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            result = _join(request, found, form)
        except InvitationUnusable:
            found.refresh_from_db()
            return _refuse(request, _refusal_reason(found), found)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            request.session[SESSION_JOINED] = result
            return redirect("h5:joined", code=found.code)
    context = {
        "invitation": found,
        "community": found.community,
        "form": form,
        "member": current,
        "tab": "",
        **_offer(found),
    }
    return render(request, "h5/invitation.html", context, status=422 if form.errors else 200)


@require_GET
def joined(request: HttpRequest, code: str) -> HttpResponse:
    result = request.session.get(SESSION_JOINED)
    if not isinstance(result, dict) or result.get("code") != code:
        return redirect("h5:invitation", code=code)
    try:
        found = invitation_get(code)
    except NotFound:
        return _refuse(request, "not_found", None)
    context = {
        "invitation": found,
        "community": found.community,
        "result": result,
        "pending": result.get("status") == MembershipStatus.PENDING,
        "member": signed_in_member(request),
        "tab": "",
        **_offer(found),
    }
    return render(request, "h5/joined.html", context)


# --- Signing in, "My memberships" --------------------------------------------------------------


@require_GET
def login(request: HttpRequest, token: str) -> HttpResponse:
    try:
        member = members.member_by_sign_in_token(token)
    except ApplicationError:
        return render(request, "h5/refusal.html", {"reason": "link", "tab": "me"}, status=410)
    _sign_in(request, member)
    return redirect("h5:me")


@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    request.session.flush()
    return redirect("h5:me")


@require_GET
def me(request: HttpRequest) -> HttpResponse:
    member = signed_in_member(request)
    context: dict[str, Any] = {"tab": "me", "member": member}
    if member is not None:
        seats = [
            s
            for s in communities.member_group_seats(member)
            if s.status in ("active", "waiting") and s.group.archived_at is None
        ]
        context.update(memberships=communities.member_memberships(member), seats=seats)
    return render(request, "h5/me.html", context)
