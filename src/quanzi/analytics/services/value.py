"""Member value: BG/NBD and Gamma-Gamma fitted on a community's own paid orders.

Purchases are the community's paid orders (shop orders, membership terms, imported historic
orders; see ``rollups.Purchase``), by local day: a member's repeat purchases ``x`` are the
distinct days they paid after their first; ``t_x`` is from the first to the last purchase day;
``T`` from the first purchase day to the end of ``until`` — in days, or weeks of 7 days. Orders
after ``until`` are left out (the calibration period ends there), and so are members whose first
order is later.

Spend per purchase day is what the member paid that day; Gamma-Gamma is fitted on the members
with at least one repeat day, from the mean of their repeat days (the first day, often a
starter offer, is left out, as the model's authors do). With fewer than ``MIN_REPEAT_BUYERS`` of
them, spend is each member's own mean, or the community's for one-time buyers, and the fit
stores no Gamma-Gamma parameters. CLV is the expected purchase days in the horizon times the
expected spend per purchase day, undiscounted, in fen.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from django.db import transaction
from django.utils.translation import gettext as _

from quanzi.analytics import btyd
from quanzi.analytics.calendar import local_day
from quanzi.analytics.models import MemberValue, Purchase, ValueFit
from quanzi.analytics.rollups import rollup_refresh
from quanzi.communities.models import Community
from quanzi.core import clock
from quanzi.core.errors import ApplicationError

MIN_BUYERS = 20
MIN_REPEAT_BUYERS = 10
UNITS = {"day": 1, "week": 7}
DEFAULT_HORIZON_DAYS = 90
# A small L2 penalty on the log-parameters keeps the fit finite when a community's orders cannot
# tell the parameters apart (every buyer alike: r and alpha run off to infinity together). On
# data that identifies them it moves the likelihood by a few hundredths; the stored
# log-likelihood is the unpenalised one.
PENALTY = 0.01
DEGENERATE = 1e4  # a Gamma-Gamma shape past this means spend did not vary enough to fit


class NotEnoughBuyers(ApplicationError):
    code = "not_enough_buyers"


@dataclass(frozen=True, slots=True)
class Summary:
    """Per member: (member ids, x, t_x, T, mean spend of repeat days, mean spend of all days)."""

    member_ids: list[int]
    x: np.ndarray
    t_x: np.ndarray
    big_t: np.ndarray
    repeat_spend: np.ndarray
    spend: np.ndarray


def purchase_summary(community: Community, until: date, unit: str) -> Summary:
    """Each buyer's (x, t_x, T) and spend from the community's paid orders up to ``until``."""
    days: dict[int, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    rows = Purchase.objects.filter(community_id=community.pk, day__lte=until).values_list(
        "member_id", "day", "amount_minor"
    )
    for member_id, day, amount in rows.iterator(chunk_size=20_000):
        days[member_id][day] += amount
    step = UNITS[unit]
    ids, xs, txs, ts, repeat, spend = [], [], [], [], [], []
    for member_id, by_day in days.items():
        ordered = sorted(by_day)
        first = ordered[0]
        ids.append(member_id)
        xs.append(len(ordered) - 1)
        txs.append((ordered[-1] - first).days / step)
        ts.append(((until - first).days + 1) / step)
        amounts = [by_day[d] for d in ordered]
        repeat.append(float(np.mean(amounts[1:])) if len(amounts) > 1 else 0.0)
        spend.append(float(np.mean(amounts)))
    return Summary(
        ids,
        np.asarray(xs, np.float64),
        np.asarray(txs, np.float64),
        np.asarray(ts, np.float64),
        np.asarray(repeat, np.float64),
        np.asarray(spend, np.float64),
    )


def value_fit(
    *,
    community: Community,
    until: date | None = None,
    unit: str = "day",
    horizon_days: int = DEFAULT_HORIZON_DAYS,
) -> ValueFit:
    """Fit both models on the community's orders up to ``until`` (default: today) and store
    each buyer's P(alive), expected purchases in the horizon and CLV."""
    today = local_day(clock.now())
    until = until or today
    if until > today:
        raise ApplicationError(_("%(day)s is in the future.") % {"day": until}, field="until")
    if unit not in UNITS:
        raise ApplicationError(
            _("The unit is day or week, not %(unit)r.") % {"unit": unit}, field="unit"
        )
    if not 1 <= horizon_days <= 3650:
        raise ApplicationError(_("The horizon is 1 to 3650 days."), field="horizon_days")
    rollup_refresh()
    data = purchase_summary(community, until, unit)
    buyers = len(data.member_ids)
    if buyers < MIN_BUYERS or not np.any(data.x > 0):
        raise NotEnoughBuyers(
            _(
                "Member value needs at least %(min)s buyers, some of them repeat buyers; "
                "%(community)s has %(n)s buyer(s) up to %(until)s."
            )
            % {"min": MIN_BUYERS, "community": community.slug, "n": buyers, "until": until},
            field="community",
        )
    model = btyd.bgnbd_fit(data.x, data.t_x, data.big_t, penalty=PENALTY)
    alive = btyd.p_alive(model, data.x, data.t_x, data.big_t)
    horizon = horizon_days / UNITS[unit]
    expected = btyd.expected_purchases(model, horizon, data.x, data.t_x, data.big_t)
    repeaters = data.x > 0
    spend_model = None
    if int(np.sum(repeaters)) >= MIN_REPEAT_BUYERS and np.all(data.repeat_spend[repeaters] > 0):
        spend_model = btyd.gamma_gamma_fit(
            data.x[repeaters], data.repeat_spend[repeaters], penalty=PENALTY
        )
    if spend_model is not None and max(spend_model.p, spend_model.q) > DEGENERATE:
        # Every repeat buyer spends alike (one product at one price): the spread the model
        # needs is not there, so each member's own mean is the best guess.
        spend_model = None
    if spend_model is not None and spend_model.q > 1:
        spend = btyd.expected_spend(spend_model, data.x, data.repeat_spend)
    else:
        mean = float(np.mean(data.spend))
        spend = np.where(repeaters, data.repeat_spend, mean)
    clv = expected * spend
    previous = ValueFit.objects.filter(community=community).order_by("-fitted_at", "-id").first()
    before = (
        dict(MemberValue.objects.filter(fit=previous).values_list("member_id", "p_alive"))
        if previous
        else {}
    )
    with transaction.atomic():
        fit = ValueFit.objects.create(
            community=community,
            fitted_at=clock.now(),
            until=until,
            unit=unit,
            members=buyers,
            r=model.r,
            alpha=model.alpha,
            a=model.a,
            b=model.b,
            log_likelihood=model.log_likelihood,
            gg_p=spend_model.p if spend_model else None,
            gg_q=spend_model.q if spend_model else None,
            gg_v=spend_model.v if spend_model else None,
            gg_members=int(np.sum(repeaters)) if spend_model else 0,
            horizon_days=horizon_days,
        )
        MemberValue.objects.bulk_create(
            [
                MemberValue(
                    fit=fit,
                    community_id=community.pk,
                    member_id=member_id,
                    frequency=int(data.x[i]),
                    recency=float(data.t_x[i]),
                    age=float(data.big_t[i]),
                    monetary_minor=round(float(data.repeat_spend[i] or data.spend[i])),
                    p_alive=float(alive[i]),
                    p_alive_before=before.get(member_id),
                    expected_purchases=float(expected[i]),
                    clv_minor=round(float(clv[i])),
                )
                for i, member_id in enumerate(data.member_ids)
            ],
            batch_size=2000,
        )
    return fit


def last_purchase_day(value: MemberValue, fit: ValueFit) -> date:
    """The member's last purchase day, from the fit's own figures."""
    step = UNITS.get(fit.unit, 1)
    first = fit.until + timedelta(days=1) - timedelta(days=round(value.age * step))
    return first + timedelta(days=round(value.recency * step))
