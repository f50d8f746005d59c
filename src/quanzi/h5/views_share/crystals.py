"""My crystals (水晶): the balance, the growth level and what it brings, how crystals are
earned, the history (earned, spent, expired, clawed back), any debt, the rewards to redeem
(with a confirm step) and my redemptions with their codes.

Redeeming more crystals than are held is refused by the service, whole: the page says so and
nothing is spent. Redeeming is once per confirm page, as placing an order is once per checkout
page: the page carries a one-time token, and a double tap finds the first redemption.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.contrib.sessions.backends.base import SessionBase
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from quanzi.communities.models import Community
from quanzi.core.errors import ApplicationError
from quanzi.core.money import Money
from quanzi.h5.views_share._common import community_or_404
from quanzi.h5.views_shop._common import members_only
from quanzi.members.models import Level, Member
from quanzi.rewards import selectors as rewards
from quanzi.rewards.models import (
    CrystalAction,
    CrystalReward,
    CrystalRule,
    GrowthLevel,
    Redemption,
    RewardKind,
)
from quanzi.rewards.services.redemptions import redemption_place

SESSION_REDEEMED = "h5_redeemed"  # confirm-page token -> redemption code, the last few
KEEP_REDEEMED = 20
HISTORY_LIMIT = 50
REDEMPTIONS_LIMIT = 50

# Ledger kinds of the wallet's entries, as the page words them.
HISTORY_KINDS = {
    "crystals.earn": "earned",
    "crystals.returned": "returned",
    "crystals.redeem": "spent",
    "crystals.expire": "expired",
    "crystals.claw": "clawed",
}


@dataclass(frozen=True)
class HistoryLine:
    kind: str  # earned | returned | spent | expired | clawed | other
    what: str
    at: datetime
    amount: int
    balance_after: int


def _what(kind: str, memo: str) -> str:
    """What an entry was for, in the reader's words where the ledger's memo allows it."""
    first, _sep, rest = memo.partition(" ")
    if kind in ("earned", "expired", "clawed") and first in CrystalAction.values:
        return str(CrystalAction(first).label)
    if kind == "spent" and first == "redeemed":
        return rest
    return ""


def _history(community: Community, member: Member) -> list[HistoryLine]:
    lines = []
    for row in rewards.crystal_history(community, member, limit=HISTORY_LIMIT):
        kind = HISTORY_KINDS.get(row.kind, "other")
        lines.append(
            HistoryLine(kind, _what(kind, row.memo), row.at, row.amount, row.balance_after)
        )
    return lines


@dataclass(frozen=True)
class RewardView:
    reward: CrystalReward
    affordable: bool
    coupon: Money | None


def _reward_view(reward: CrystalReward, balance: int) -> RewardView:
    coupon = (
        Money(reward.coupon_value_minor, reward.community.currency)
        if reward.kind == RewardKind.COUPON
        else None
    )
    return RewardView(reward, reward.cost <= balance, coupon)


def _rules(community: Community) -> list[CrystalRule]:
    return list(CrystalRule.objects.filter(community=community, active=True).order_by("action"))


def _levels(community: Community) -> list[GrowthLevel]:
    return list(
        GrowthLevel.objects.filter(community=community)
        .select_related("group")
        .order_by("min_earned", "pk")
    )


@require_GET
@members_only
def crystals(request: HttpRequest, member: Member, slug: str) -> HttpResponse:
    community = community_or_404(slug)
    balance = rewards.crystal_balance(community, member)
    level = rewards.member_level(community, member)
    available = rewards.rewards_available(community).select_related("community", "product")
    context = {
        "tab": "me",
        "community": community,
        "member": member,
        "balance": balance,
        "debt": rewards.crystal_debt(community, member),
        "level": level,
        "level_label": Level(level.level).label,
        "next_label": Level(level.next_level).label if level.next_level else "",
        "levels": _levels(community),
        "rules": _rules(community),
        "history": _history(community, member),
        "rewards": [_reward_view(r, balance) for r in available.order_by("cost", "pk")],
        "redemptions": list(
            Redemption.objects.filter(community=community, member=member).order_by(
                "-created_at", "-pk"
            )[:REDEMPTIONS_LIMIT]
        ),
    }
    return render(request, "h5/crystals/crystals.html", context)


def _redeemed(session: SessionBase, token: str, member: Member) -> Redemption | None:
    """The redemption this confirm page's token already made in this browser, if any (and if
    it is this member's: a phone may change hands between sign-ins)."""
    done = session.get(SESSION_REDEEMED)
    code = done.get(token) if token and isinstance(done, dict) else None
    if not isinstance(code, str) or not code:
        return None
    return Redemption.objects.filter(code=code, member=member).first()


def _redeem_once(
    request: HttpRequest, member: Member, reward: CrystalReward, token: str
) -> Redemption:
    """Redeem once per confirm-page token. The member's row lock queues a second tap behind
    the first; it then reads the session as the first one left it and finds the redemption."""
    with transaction.atomic():
        list(Member.objects.select_for_update().filter(pk=member.pk).values_list("pk", flat=True))
        store = request.session.__class__(session_key=request.session.session_key)
        already = _redeemed(store, token, member)
        if already is not None:
            return already
        redemption = redemption_place(reward=reward, member=member)
        done = dict(store.get(SESSION_REDEEMED) or {})  # as other tabs left it
        done[token] = redemption.code
        request.session[SESSION_REDEEMED] = dict(list(done.items())[-KEEP_REDEEMED:])
        request.session.save()  # inside the lock: the queued duplicate must see it
    return redemption


@require_http_methods(["GET", "POST"])
@members_only
def crystals_redeem(request: HttpRequest, member: Member, slug: str, pk: int) -> HttpResponse:
    """The confirm step, then the redemption; a refusal is shown here and spends nothing."""
    community = community_or_404(slug)
    reward = (
        CrystalReward.objects.select_related("community", "product")
        .filter(pk=pk, community=community)
        .first()
    )
    if reward is None:
        raise Http404
    refusal = ""
    status = 200
    if request.method == "POST":
        token = str(request.POST.get("token") or "")
        if not token:  # not sent from the confirm page: show it
            return redirect("h5:crystals_redeem", slug=community.slug, pk=reward.pk)
        try:
            redemption = _redeem_once(request, member, reward, token)
        except ApplicationError as exc:
            refusal = exc.message
            status = exc.status
            reward.refresh_from_db()
        else:
            messages.success(
                request,
                _("Redeemed: %(name)s. Your code is %(code)s; show it to the owner.")
                % {"name": redemption.name, "code": redemption.code},
            )
            url = reverse("h5:crystals", args=[community.slug])
            return redirect(f"{url}#redemption-{redemption.code}")
    balance = rewards.crystal_balance(community, member)
    context = {
        "tab": "me",
        "community": community,
        "member": member,
        "view": _reward_view(reward, balance),
        "reward": reward,
        "balance": balance,
        "after": balance - reward.cost,
        "refusal": refusal,
        "available": reward.active and (reward.stock is None or reward.stock > 0),
        "token": secrets.token_urlsafe(16),
    }
    return render(request, "h5/crystals/redeem.html", context, status=status)
