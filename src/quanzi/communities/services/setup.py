"""Communities, groups, KOL seats and membership plans: what an operator sets up."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from quanzi.communities.models import (
    Community,
    CommunityKind,
    Group,
    KolSeat,
    MembershipPlan,
    PlanKind,
    Tier,
    Vertical,
)
from quanzi.communities.services.errors import CommunityError
from quanzi.core import clock
from quanzi.core.errors import Conflict
from quanzi.core.models import ActivityKind
from quanzi.core.money import CURRENCIES
from quanzi.core.services.activity import activity_record
from quanzi.members.lifecycle import lifecycle_recompute_soon
from quanzi.members.models import Member

_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$")
MAX_CAPACITY = 100_000


def _recorded(
    action: str,
    object_type: str,
    object_id: int,
    *,
    actor_id: int | None,
    community_id: int,
    data: dict[str, Any] | None = None,
    **fields: Any,
) -> None:
    """The operator activity a set-up change leaves: what was done to which object."""
    activity_record(
        kind=ActivityKind.OPERATOR,
        actor_id=actor_id,
        community_id=community_id,
        object_type=object_type,
        object_id=object_id,
        data={"action": action, **(data or {})},
        **fields,
    )


def _text(value: str, field: str, limit: int, *, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise CommunityError(
            _("%(field)s is required.") % {"field": field.replace("_", " ").capitalize()},
            field=field,
        )
    if len(value) > limit:
        raise CommunityError(
            _("%(field)s is at most %(limit)s characters.") % {"field": field, "limit": limit},
            field=field,
        )
    return value


def community_create(
    *,
    slug: str,
    name: str,
    kind: str,
    vertical: str = Vertical.OTHER,
    description: str = "",
    currency: str = "CNY",
    actor_id: int | None = None,
) -> Community:
    if not _SLUG.match(slug or ""):
        raise CommunityError(
            _("A slug is 1-50 lowercase letters, digits and dashes, e.g. english-circle."),
            field="slug",
        )
    if kind not in CommunityKind.values:
        raise CommunityError(
            _("Unknown community kind %(kind)r; use %(choices)s.")
            % {"kind": kind, "choices": ", ".join(CommunityKind.values)},
            field="kind",
        )
    if vertical not in Vertical.values:
        raise CommunityError(
            _("Unknown vertical %(vertical)r; use %(choices)s.")
            % {"vertical": vertical, "choices": ", ".join(Vertical.values)},
            field="vertical",
        )
    if currency not in CURRENCIES:
        raise CommunityError(
            _("Unknown currency %(currency)r.") % {"currency": currency}, field="currency"
        )
    try:
        with transaction.atomic():
            community = Community.objects.create(
                slug=slug,
                name=_text(name, "name", 100, required=True),
                kind=kind,
                vertical=vertical,
                description=_text(description, "description", 5000),
                currency=currency,
            )
            _recorded(
                "community_created",
                "community",
                community.pk,
                actor_id=actor_id,
                community_id=community.pk,
            )
            return community
    except IntegrityError:
        raise Conflict(
            _("A community with slug %(slug)r exists already.") % {"slug": slug}, field="slug"
        ) from None


def community_update(
    *,
    community: Community,
    actor_id: int | None = None,
    name: str | None = None,
    description: str | None = None,
    vertical: str | None = None,
) -> Community:
    with transaction.atomic():
        community = Community.objects.select_for_update().get(pk=community.pk)
        fields = []
        if name is not None:
            community.name = _text(name, "name", 100, required=True)
            fields.append("name")
        if description is not None:
            community.description = _text(description, "description", 5000)
            fields.append("description")
        if vertical is not None:
            if vertical not in Vertical.values:
                raise CommunityError(
                    _("Unknown vertical %(vertical)r.") % {"vertical": vertical}, field="vertical"
                )
            community.vertical = vertical
            fields.append("vertical")
        if fields:
            community.save(update_fields=fields)
            _recorded(
                "community_updated",
                "community",
                community.pk,
                actor_id=actor_id,
                community_id=community.pk,
                data={"fields": fields},
            )
        return community


def _group_fields(
    community: Community,
    *,
    tier: str,
    capacity: int,
    required_plan: MembershipPlan | None,
    ends_on: date | None,
) -> None:
    if tier not in Tier.values:
        raise CommunityError(
            _("Unknown tier %(tier)r; use %(choices)s.")
            % {"tier": tier, "choices": ", ".join(Tier.values)},
            field="tier",
        )
    if not 1 <= capacity <= MAX_CAPACITY:
        raise CommunityError(
            _("Capacity is 1 to %(max)s.") % {"max": f"{MAX_CAPACITY:,}"}, field="capacity"
        )
    if required_plan is not None and required_plan.community_id != community.pk:
        raise CommunityError(
            _("The required plan belongs to another community."), field="required_plan"
        )
    if ends_on is not None and ends_on < timezone.localdate(clock.now()):
        raise CommunityError(_("The end date is in the past."), field="ends_on")


def group_create(
    *,
    community: Community,
    name: str,
    tier: str = Tier.OPEN,
    capacity: int = 500,
    rules: str = "",
    welcome_template: str = "",
    intro_prompt: str = "",
    required_plan: MembershipPlan | None = None,
    required_product_id: int | None = None,
    ends_on: date | None = None,
    actor_id: int | None = None,
) -> Group:
    _group_fields(
        community, tier=tier, capacity=capacity, required_plan=required_plan, ends_on=ends_on
    )
    if community.archived_at:
        raise Conflict(_("This community is archived."), field="community")
    try:
        with transaction.atomic():
            group = Group.objects.create(
                community=community,
                name=_text(name, "name", 100, required=True),
                tier=tier,
                capacity=capacity,
                rules=_text(rules, "rules", 5000),
                welcome_template=_text(welcome_template, "welcome_template", 2000),
                intro_prompt=_text(intro_prompt, "intro_prompt", 1000),
                required_plan=required_plan,
                required_product_id=required_product_id,
                ends_on=ends_on,
            )
            _recorded(
                "group_created",
                "group",
                group.pk,
                actor_id=actor_id,
                community_id=community.pk,
                group_id=group.pk,
                data={"tier": tier},
            )
            return group
    except IntegrityError:
        raise Conflict(
            _("%(community)s has a group named %(name)r already.")
            % {"community": community.name, "name": name},
            field="name",
        ) from None


def group_update(
    *,
    group: Group,
    actor_id: int | None = None,
    name: str | None = None,
    capacity: int | None = None,
    rules: str | None = None,
    welcome_template: str | None = None,
    intro_prompt: str | None = None,
    ends_on: date | None = None,
) -> Group:
    with transaction.atomic():
        group = Group.objects.select_for_update().select_related("community").get(pk=group.pk)
        if group.archived_at:
            raise Conflict(_("This group is archived."), field="group")
        fields: list[str] = []
        if name is not None:
            group.name = _text(name, "name", 100, required=True)
            fields.append("name")
        if capacity is not None:
            _group_fields(
                group.community,
                tier=group.tier,
                capacity=capacity,
                required_plan=None,
                ends_on=None,
            )
            group.capacity = capacity
            fields.append("capacity")
        for field, value, limit in (
            ("rules", rules, 5000),
            ("welcome_template", welcome_template, 2000),
            ("intro_prompt", intro_prompt, 1000),
        ):
            if value is not None:
                setattr(group, field, _text(value, field, limit))
                fields.append(field)
        if ends_on is not None:
            if ends_on < timezone.localdate(clock.now()):
                raise CommunityError(_("The end date is in the past."), field="ends_on")
            group.ends_on = ends_on
            fields.append("ends_on")
        if fields:
            try:
                with transaction.atomic():
                    group.save(update_fields=fields)
            except IntegrityError:
                raise Conflict(
                    _("A group named %(name)r exists already.") % {"name": name}, field="name"
                ) from None
            _recorded(
                "group_updated",
                "group",
                group.pk,
                actor_id=actor_id,
                community_id=group.community_id,
                group_id=group.pk,
                data={"fields": fields},
            )
        return group


def kol_seat_assign(
    *, group: Group, member: Member, title: str = "", actor_id: int | None = None
) -> KolSeat:
    if not member.is_active_record:
        raise Conflict(_("This member record is closed."), field="member")
    with transaction.atomic():
        seat, created = KolSeat.objects.get_or_create(
            group=group, member=member, defaults={"title": _text(title, "title", 50)}
        )
        if created:
            _recorded(
                "kol_seat_assigned",
                "kol_seat",
                seat.pk,
                actor_id=actor_id,
                community_id=group.community_id,
                group_id=group.pk,
                member_id=member.pk,
                data={"title": seat.title},
            )
            lifecycle_recompute_soon(member.pk)
        return seat


def kol_seat_release(*, seat: KolSeat, actor_id: int | None = None) -> None:
    with transaction.atomic():
        group = seat.group
        _recorded(
            "kol_seat_released",
            "kol_seat",
            seat.pk,
            actor_id=actor_id,
            community_id=group.community_id,
            group_id=group.pk,
            member_id=seat.member_id,
        )
        seat.delete()
        lifecycle_recompute_soon(seat.member_id)


def plan_create(
    *,
    community: Community,
    name: str,
    kind: str,
    price_minor: int = 0,
    duration_days: int | None = None,
    grace_days: int = 0,
    reminder_days: int = 7,
    groups: list[Group] | None = None,
    discount_percent: int = 0,
    member_only_content: bool = False,
    product_id: int | None = None,
    goods_description: str = "",
    goods_value_minor: int | None = None,
    actor_id: int | None = None,
) -> MembershipPlan:
    """A membership plan, checked against the rules of its kind (DESIGN.md, loop 4)."""
    if kind not in PlanKind.values:
        raise CommunityError(
            _("Unknown plan kind %(kind)r; use %(choices)s.")
            % {"kind": kind, "choices": ", ".join(PlanKind.values)},
            field="kind",
        )
    if price_minor < 0:
        raise CommunityError(_("A price cannot be negative."), field="price_minor")
    for field, value in (("grace_days", grace_days), ("reminder_days", reminder_days)):
        if value < 0 or value > 366:
            raise CommunityError(_("%(field)s is 0 to 366.") % {"field": field}, field=field)
    if duration_days is not None and not 1 <= duration_days <= 3660:
        raise CommunityError(_("A term is 1 to 3,660 days."), field="duration_days")
    if not 0 <= discount_percent <= 100:
        raise CommunityError(_("A discount is 0 to 100 percent."), field="discount_percent")

    if kind == PlanKind.ANNUAL:
        if price_minor <= 0:
            raise CommunityError(_("An annual membership has a price."), field="price_minor")
        duration_days = duration_days or 365
    elif kind in (PlanKind.LIFETIME, PlanKind.FREE):
        if duration_days is not None:
            raise CommunityError(
                _("A %(kind)s membership has no term.") % {"kind": kind}, field="duration_days"
            )
        if kind == PlanKind.FREE and price_minor:
            raise CommunityError(_("A free membership has no price."), field="price_minor")
        if kind == PlanKind.LIFETIME and price_minor <= 0:
            raise CommunityError(_("A lifetime membership has a price."), field="price_minor")
    elif kind == PlanKind.PRODUCT_GRANT:
        if not product_id:
            raise CommunityError(
                _("Name the product whose purchase grants it."), field="product_id"
            )
        if price_minor:
            raise CommunityError(
                _("The product is what is paid for; this plan has no price of its own."),
                field="price_minor",
            )
    elif kind == PlanKind.FEE_GOODS:
        if price_minor <= 0:
            raise CommunityError(_("The membership fee is required."), field="price_minor")
        if not goods_description.strip():
            raise CommunityError(_("Say what goods the fee brings."), field="goods_description")
        goods_value_minor = price_minor if goods_value_minor is None else goods_value_minor
        if goods_value_minor < price_minor:
            raise CommunityError(
                _("The goods must be worth at least the fee."), field="goods_value_minor"
            )
        duration_days = duration_days or 365
    groups = groups or []
    if any(g.community_id != community.pk for g in groups):
        raise CommunityError(_("A plan grants groups of its own community only."), field="groups")
    try:
        with transaction.atomic():
            plan = MembershipPlan.objects.create(
                community=community,
                name=_text(name, "name", 100, required=True),
                kind=kind,
                price_minor=price_minor,
                currency=community.currency,
                duration_days=duration_days,
                grace_days=grace_days,
                reminder_days=reminder_days,
                discount_percent=discount_percent,
                member_only_content=member_only_content,
                product_id=product_id if kind == PlanKind.PRODUCT_GRANT else None,
                goods_description=_text(goods_description, "goods_description", 200),
                goods_value_minor=goods_value_minor or 0,
            )
            plan.groups.set(groups)
            _recorded(
                "plan_created",
                "plan",
                plan.pk,
                actor_id=actor_id,
                community_id=community.pk,
                data={"kind": kind},
            )
            return plan
    except IntegrityError:
        raise Conflict(
            _("A plan named %(name)r exists already.") % {"name": name}, field="name"
        ) from None
