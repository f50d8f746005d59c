"""What crystals buy: rewards (a product, a coupon, a perk), redeemed oldest crystals first,
handed over or cancelled (the crystals come back); and perks given to contributors."""

from __future__ import annotations

import secrets

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from quanzi.catalog.models import Product
from quanzi.communities.models import Community
from quanzi.core import clock
from quanzi.core.errors import Conflict
from quanzi.core.models import ActivityKind
from quanzi.core.services.activity import activity_record
from quanzi.core.services.ledger import Leg, ledger_post
from quanzi.members.models import Member
from quanzi.rewards.models import (
    CrystalAction,
    CrystalGrant,
    CrystalReward,
    Redemption,
    RedemptionStatus,
    RewardKind,
)
from quanzi.rewards.services.accounts import expired_account, redeemed_account
from quanzi.rewards.services.earning import grant_credit, member_check
from quanzi.rewards.services.errors import NotEnoughCrystals, RewardsError, RewardUnavailable
from quanzi.rewards.services.rules import MAX_RULE_AMOUNT, text, whole
from quanzi.rewards.services.wallet import (
    RETURNED_PREFIX,
    books_lock,
    expire_grant,
    take_fifo,
)

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: codes are read aloud
CODE_LENGTH = 10
MAX_QUANTITY = 99
MAX_STOCK = 1_000_000
MAX_COUPON_MINOR = 10_000_000


def _code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def crystal_reward_create(
    *,
    community: Community,
    name: str,
    kind: str,
    cost: int,
    product: Product | None = None,
    coupon_value_minor: int = 0,
    stock: int | None = None,
    actor_id: int | None = None,
) -> CrystalReward:
    """Something members may redeem ``cost`` crystals for; ``stock`` None is unlimited."""
    name = text(name, "name", 100, required=True)
    if kind not in RewardKind.values:
        raise RewardsError(
            _("A reward is one of %(kinds)s.") % {"kinds": ", ".join(RewardKind.values)},
            field="kind",
        )
    whole(cost, "cost", 1, MAX_RULE_AMOUNT)
    whole(coupon_value_minor, "coupon_value_minor", 0, MAX_COUPON_MINOR)
    if stock is not None:
        whole(stock, "stock", 0, MAX_STOCK)
    if kind == RewardKind.PRODUCT:
        if product is None:
            raise RewardsError(_("Choose the product it gives."), field="product")
        if product.community_id != community.pk:
            raise RewardsError(_("The product belongs to another community."), field="product")
    elif product is not None:
        raise RewardsError(_("Only a product reward names a product."), field="product")
    if kind == RewardKind.COUPON and coupon_value_minor < 1:
        raise RewardsError(_("A coupon is worth at least 1 fen."), field="coupon_value_minor")
    if kind != RewardKind.COUPON and coupon_value_minor:
        raise RewardsError(_("Only a coupon has a value."), field="coupon_value_minor")
    with transaction.atomic():
        reward = CrystalReward.objects.create(
            community=community,
            name=name,
            kind=kind,
            cost=cost,
            product=product,
            coupon_value_minor=coupon_value_minor,
            stock=stock,
            created_at=clock.now(),
        )
        activity_record(
            kind=ActivityKind.OPERATOR,
            actor_id=actor_id,
            community_id=community.pk,
            object_type="crystal_reward",
            object_id=reward.pk,
            data={"action": "crystal_reward_created", "kind": kind, "cost": cost, "stock": stock},
        )
        return reward


def crystal_reward_update(
    *,
    reward: CrystalReward,
    active: bool | None = None,
    cost: int | None = None,
    actor_id: int | None = None,
) -> CrystalReward:
    """Take a reward off the list or put it back, or change its cost (for redemptions from now
    on: what was redeemed keeps what it cost)."""
    if active is not None and not isinstance(active, bool):
        raise RewardsError(_("Active is true or false."), field="active")
    if cost is not None:
        whole(cost, "cost", 1, MAX_RULE_AMOUNT)
    with transaction.atomic():
        reward = CrystalReward.objects.select_for_update().get(pk=reward.pk)
        before = {"active": reward.active, "cost": reward.cost}
        if active is not None:
            reward.active = active
        if cost is not None:
            reward.cost = cost
        reward.save(update_fields=["active", "cost"])
        activity_record(
            kind=ActivityKind.OPERATOR,
            actor_id=actor_id,
            community_id=reward.community_id,
            object_type="crystal_reward",
            object_id=reward.pk,
            data={
                "action": "crystal_reward_updated",
                "from": before,
                "to": {"active": reward.active, "cost": reward.cost},
            },
        )
        return reward


def _new_redemption(**fields: object) -> Redemption:
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Redemption.objects.create(code=_code(), **fields)
        except IntegrityError:
            continue  # the code was taken: another draw
    raise Conflict(_("Could not issue a redemption code; try again."), field="code")


def redemption_place(*, reward: CrystalReward, member: Member, quantity: int = 1) -> Redemption:
    """Spend ``reward.cost × quantity`` crystals on ``reward``, oldest crystals first.

    Refused with 409, nothing spent or posted: an inactive reward, too little stock
    (``quantity``), fewer crystals than it costs (``crystals``, saying how many are held).
    """
    whole(quantity, "quantity", 1, MAX_QUANTITY)
    member_check(member)
    community_id = reward.community_id
    with transaction.atomic():
        books = books_lock(
            community_id,
            member.pk,
            redeemed=redeemed_account(community_id),
            # Locked with the rest, in pk order: an expiry found below posts to it.
            expired=expired_account(community_id),
        )
        reward = CrystalReward.objects.select_for_update().get(pk=reward.pk)
        if not reward.active:
            raise RewardUnavailable(
                _("%(name)s can no longer be redeemed.") % {"name": reward.name}, field="reward"
            )
        if reward.stock is not None and reward.stock < quantity:
            raise RewardUnavailable(
                _("%(name)s: only %(stock)s left.") % {"name": reward.name, "stock": reward.stock},
                field="quantity",
            )
        moment = clock.now()
        # Crystals past their expiry are gone even when the job has not run yet.
        for grant_id in CrystalGrant.objects.filter(
            community_id=community_id, member=member, expires_at__lte=moment, remaining__gt=0
        ).values_list("pk", flat=True):
            expire_grant(grant_id, books, moment)
        cost = reward.cost * quantity
        held = books.held()
        if held < cost:
            raise NotEnoughCrystals(
                _("This costs %(cost)s crystals; you hold %(held)s.")
                % {"cost": cost, "held": held},
                field="crystals",
            )
        if reward.stock is not None:
            # Conditional: the stock never goes below zero, whatever runs beside us.
            taken = CrystalReward.objects.filter(pk=reward.pk, stock__gte=quantity).update(
                stock=F("stock") - quantity
            )
            if not taken:
                raise RewardUnavailable(_("Sold out meanwhile."), field="quantity")
        redemption = _new_redemption(
            community_id=community_id,
            member=member,
            reward=reward,
            name=reward.name,
            quantity=quantity,
            crystals=cost,
            created_at=moment,
        )
        if take_fifo(community_id, member.pk, cost) != cost:
            raise RuntimeError("the wallet and its grants disagree")  # a bug, never a refusal
        ledger_post(
            legs=[Leg(books.wallet, -cost), Leg(books.others["redeemed"], cost)],
            kind="crystals.redeem",
            memo=f"redeemed {reward.name}"[:255],
            idempotency_key=f"crystals:redeem:{redemption.code}",
            object_type="redemption",
            object_id=redemption.pk,
            occurred_at=moment,
        )
        activity_record(
            kind=ActivityKind.CRYSTALS,
            occurred_at=moment,
            member_id=member.pk,
            community_id=community_id,
            object_type="redemption",
            object_id=redemption.pk,
            data={
                "direction": "redeem",
                "reward": reward.pk,
                "quantity": quantity,
                "crystals": cost,
                "code": redemption.code,
            },
        )
        return redemption


def _locked_open(redemption: Redemption, verb: str) -> Redemption:
    redemption = Redemption.objects.select_for_update().get(pk=redemption.pk)
    if redemption.status != RedemptionStatus.PLACED:
        raise Conflict(
            _("This redemption is %(status)s; it cannot be %(verb)s.")
            % {"status": redemption.get_status_display(), "verb": verb},
            field="status",
        )
    return redemption


def redemption_fulfil(
    *, redemption: Redemption, actor_id: int | None = None, note: str = ""
) -> Redemption:
    """The reward was handed over (the goods shipped, the coupon used, the perk given)."""
    note = text(note, "note", 200)
    with transaction.atomic():
        redemption = _locked_open(redemption, _("handed over"))
        redemption.status = RedemptionStatus.FULFILLED
        redemption.closed_at = clock.now()
        if note:
            redemption.note = note
        redemption.save(update_fields=["status", "closed_at", "note"])
        activity_record(
            kind=ActivityKind.CRYSTALS,
            member_id=redemption.member_id,
            community_id=redemption.community_id,
            actor_id=actor_id,
            object_type="redemption",
            object_id=redemption.pk,
            data={"direction": "fulfilled", "code": redemption.code, "crystals": 0},
        )
        return redemption


def redemption_cancel(
    *, redemption: Redemption, actor_id: int | None = None, reason: str = ""
) -> Redemption:
    """Cancel a redemption not yet handed over: its crystals come back as a new grant
    (debt repaid first, like any credit) and its units go back into stock."""
    reason = text(reason, "reason", 200)
    with transaction.atomic():
        redemption = _locked_open(redemption, _("cancelled"))
        community_id = redemption.community_id
        member = Member.objects.get(pk=redemption.member_id)
        moment = clock.now()
        if redemption.crystals:
            books = books_lock(community_id, member.pk, redeemed=redeemed_account(community_id))
            grant_credit(
                books,
                community=redemption.community,
                member=member,
                action=CrystalAction.MANUAL,
                source=f"{RETURNED_PREFIX}{redemption.code}",
                requested=redemption.crystals,
                crystals=redemption.crystals,
                note=_("Redemption %(code)s cancelled") % {"code": redemption.code},
                actor_id=actor_id,
                moment=moment,
                direction="returned",
                origin=books.others["redeemed"],
            )
        if redemption.reward_id is not None:
            CrystalReward.objects.filter(pk=redemption.reward_id, stock__isnull=False).update(
                stock=F("stock") + redemption.quantity
            )
        redemption.status = RedemptionStatus.CANCELLED
        redemption.closed_at = moment
        if reason:
            redemption.note = reason
        redemption.save(update_fields=["status", "closed_at", "note"])
        if not redemption.crystals:
            activity_record(
                kind=ActivityKind.CRYSTALS,
                member_id=member.pk,
                community_id=community_id,
                actor_id=actor_id,
                object_type="redemption",
                object_id=redemption.pk,
                data={"direction": "cancelled", "code": redemption.code, "crystals": 0},
            )
        return redemption


def perk_grant(
    *,
    community: Community,
    member: Member,
    name: str,
    note: str = "",
    actor_id: int | None = None,
) -> Redemption:
    """A perk the operator gives a contributor (a product, a meal, a ticket): a redemption
    that costs no crystals, to hand over like any other."""
    name = text(name, "name", 100, required=True)
    note = text(note, "note", 200)
    member_check(member)
    with transaction.atomic():
        redemption = _new_redemption(
            community=community,
            member=member,
            reward=None,
            name=name,
            quantity=1,
            crystals=0,
            note=note,
            created_at=clock.now(),
        )
        activity_record(
            kind=ActivityKind.OPERATOR,
            member_id=member.pk,
            community_id=community.pk,
            actor_id=actor_id,
            object_type="redemption",
            object_id=redemption.pk,
            data={"action": "perk_granted", "name": name, "code": redemption.code},
        )
        return redemption
