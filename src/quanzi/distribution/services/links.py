"""Personal referral links and codes, and the visits made through them.

Every member has links, distributor or not: to the community and to each product, and one per
content piece or campaign an influencer labels. A visit by a known member leaves a touch that
attribution reads later; the first sharer to bring a member who has not bought here yet becomes
the one who referred them (the customer binding, and the only relation a second level follows).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from quanzi.catalog.models import Product
from quanzi.communities.models import Community
from quanzi.core import clock
from quanzi.core.errors import Conflict, NotFound
from quanzi.core.models import ActivityKind
from quanzi.core.services.activity import activity_record
from quanzi.distribution.models import MemberReferral, ReferralLink, ReferralTouch
from quanzi.distribution.services.errors import DistributionError
from quanzi.distribution.services.identity import person_of, records_of, same_person
from quanzi.distribution.services.settings import distribution_settings_get
from quanzi.members.models import Member
from quanzi.orders.models import PAID_STATUSES, Order

# No 0/O, 1/I/L: codes are read aloud and typed from posters.
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 8
REFERRAL_CHANNEL = "referral"


def _new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def referral_link_get_or_create(
    *,
    community: Community,
    sharer: Member,
    product: Product | None = None,
    label: str = "",
) -> ReferralLink:
    """The sharer's link to the community (or to ``product``), made on first use."""
    if community.archived_at:
        raise Conflict(_("This community is archived."), field="community")
    if not sharer.is_active_record:
        raise Conflict(_("This member record is closed."), field="sharer")
    if product is not None and product.community_id != community.pk:
        raise DistributionError(_("The product belongs to another community."), field="product")
    label = (label or "").strip()
    if len(label) > 100:
        raise DistributionError(_("At most %(n)s characters.") % {"n": 100}, field="label")
    found = ReferralLink.objects.filter(
        community=community, sharer=sharer, product=product, label=label
    ).first()
    if found is not None:
        return found
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return ReferralLink.objects.create(
                    code=_new_code(),
                    community=community,
                    sharer=sharer,
                    product=product,
                    label=label,
                    created_at=clock.now(),
                )
        except IntegrityError:
            # A concurrent first use made the same link, or (rarely) the code was taken.
            found = ReferralLink.objects.filter(
                community=community, sharer=sharer, product=product, label=label
            ).first()
            if found is not None:
                return found
    raise Conflict(_("Could not make a link; try again."), field="code")  # pragma: no cover


def referral_link_by_code(code: str) -> ReferralLink:
    code = (code or "").strip().upper()
    link = (
        ReferralLink.objects.select_related("community", "sharer", "product")
        .filter(code=code, community__archived_at__isnull=True)
        .first()
    )
    if link is None:
        raise NotFound(_("No such link."), field="code")
    return link


def _has_bought(community_id: int, records: list[int]) -> bool:
    return Order.objects.filter(
        community_id=community_id, member_id__in=records, status__in=PAID_STATUSES
    ).exists()


def referral_visit(
    *, link: ReferralLink, member: Member | None = None, at: datetime | None = None
) -> ReferralTouch | None:
    """Someone opened ``link``: counted and logged. A known member other than the sharer also
    leaves a touch (see ``referral_touch``); a visitor not yet known is counted now and
    touched later, when they join or sign in. Opening one's own link counts a visit only."""
    moment = at or clock.now()
    with transaction.atomic():
        ReferralLink.objects.filter(pk=link.pk).update(visits=F("visits") + 1)
        activity_record(
            kind=ActivityKind.VISIT,
            occurred_at=moment,
            member_id=member.pk if member else None,
            target_member_id=link.sharer_id,
            community_id=link.community_id,
            channel=REFERRAL_CHANNEL,
            content=link.label[:128],
            object_type="product" if link.product_id else "community",
            object_id=link.product_id or link.community_id,
            data={"link": link.code, "sharer": link.sharer_id},
        )
        if member is None:
            return None
        return referral_touch(link=link, member=member, at=moment)


def referral_touch(
    *, link: ReferralLink, member: Member, at: datetime | None = None
) -> ReferralTouch | None:
    """``member`` opened ``link`` at ``at`` (a visit already counted, perhaps before they were
    known): the fact attribution reads, and perhaps the sharer's referral of them. Nothing
    for the sharer's own records."""
    moment = at or clock.now()
    if same_person(member.pk, link.sharer_id):
        return None
    with transaction.atomic():
        touch = ReferralTouch.objects.create(
            link=link,
            community_id=link.community_id,
            sharer_id=link.sharer_id,
            member=member,
            at=moment,
        )
        _refer(link, member, moment)
        return touch


def _refer(link: ReferralLink, member: Member, moment: datetime) -> None:
    """The first sharer to bring a member who has not bought here yet referred them."""
    person = person_of(member.pk)
    if MemberReferral.objects.filter(community_id=link.community_id, member_id=person).exists():
        return
    # Someone who already brought others here is no newcomer: counting them as brought by a
    # later sharer would close a loop (S, brought by U, "bringing" U back) and pay a
    # downline on its upline's sales.
    records = records_of(person)
    if MemberReferral.objects.filter(
        community_id=link.community_id, referrer_id__in=records
    ).exists():
        return
    if _has_bought(link.community_id, records):
        return
    terms = distribution_settings_get(link.community)
    try:
        with transaction.atomic():
            MemberReferral.objects.create(
                community_id=link.community_id,
                member_id=person,
                referrer_id=link.sharer_id,
                link=link,
                at=moment,
                bound_until=moment + timedelta(days=terms.binding_days),
            )
    except IntegrityError:
        return  # referred by a concurrent visit a moment ago
    activity_record(
        kind=ActivityKind.REFERRAL,
        occurred_at=moment,
        member_id=person,
        target_member_id=link.sharer_id,
        community_id=link.community_id,
        channel=REFERRAL_CHANNEL,
        object_type="referral_link",
        object_id=link.pk,
        data={"action": "referred", "link": link.code, "binding_days": terms.binding_days},
    )
