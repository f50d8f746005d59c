"""Reading member value: the latest fit, members by value, and the valuable ones slipping away."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import F, FloatField, Q
from django.db.models.functions import Cast

from quanzi.analytics.models import MemberValue, ValueFit
from quanzi.analytics.services.value import last_purchase_day
from quanzi.communities.models import Community
from quanzi.members.models import Member

# "Valuable": in the top fifth by CLV. "Slipping": P(alive) fell by this much since the last fit,
# or — on a first fit — is below one half.
TOP_SHARE = 0.2
FALL = 0.1
LOW = 0.5


def latest_fit(community: Community) -> ValueFit | None:
    return ValueFit.objects.filter(community=community).order_by("-fitted_at", "-id").first()


@dataclass(frozen=True, slots=True)
class SlippingMember:
    member_id: int
    name: str
    clv_minor: int
    p_alive: float
    p_alive_before: float | None
    expected_purchases: float
    last_purchase: date
    at_risk_minor: int  # CLV × (1 − P(alive)): what recall could keep


def slipping_members(community: Community, limit: int = 50) -> list[SlippingMember]:
    """High-CLV members whose P(alive) is falling, most value at risk first."""
    fit = latest_fit(community)
    if fit is None:
        return []
    values = MemberValue.objects.filter(fit=fit)
    count = values.count()
    top = max(1, round(count * TOP_SHARE))
    floor = values.order_by("-clv_minor").values_list("clv_minor", flat=True)[top - 1 : top]
    threshold = next(iter(floor), 0)
    falling = Q(p_alive_before__isnull=False, p_alive__lte=F("p_alive_before") - FALL) | Q(
        p_alive_before__isnull=True, p_alive__lt=LOW
    )
    chosen = (
        values.filter(falling, clv_minor__gte=max(threshold, 1))
        .annotate(risk=Cast(F("clv_minor"), FloatField()) * (1.0 - F("p_alive")))
        .order_by("-risk", "member_id")[:limit]
    )
    rows = list(chosen)
    names = dict(
        Member.objects.filter(pk__in=[v.member_id for v in rows]).values_list("pk", "display_name")
    )
    return [
        SlippingMember(
            member_id=v.member_id,
            name=names.get(v.member_id, f"#{v.member_id}"),
            clv_minor=v.clv_minor,
            p_alive=v.p_alive,
            p_alive_before=v.p_alive_before,
            expected_purchases=v.expected_purchases,
            last_purchase=last_purchase_day(v, fit),
            at_risk_minor=round(v.clv_minor * (1 - v.p_alive)),
        )
        for v in rows
    ]


def top_members(community: Community, limit: int = 20) -> list[MemberValue]:
    fit = latest_fit(community)
    if fit is None:
        return []
    return list(MemberValue.objects.filter(fit=fit).order_by("-clv_minor", "member_id")[:limit])
