"""BG/NBD and Gamma-Gamma: the likelihood against a hand computation, parameters recovered from
data simulated with known ones, and what P(alive) must do; then a fit on a real community's
orders through the CLI."""

from __future__ import annotations

import json
import math
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from django.utils import timezone

from quanzi.analytics import btyd
from quanzi.analytics.models import MemberValue, ValueFit
from quanzi.analytics.selectors.value import slipping_members
from quanzi.analytics.services.value import NotEnoughBuyers, value_fit
from quanzi.cli import main
from quanzi.communities.tests.factories import community
from quanzi.core.models import ActivityKind
from quanzi.core.money import Money
from quanzi.core.services.activity import activity_record
from quanzi.members.tests.factories import member

R, ALPHA, A, B = 0.243, 4.414, 0.793, 2.426  # FHL 2005's CDNOW estimates, as a realistic point


def hand_ll(r: float, alpha: float, a: float, b: float, x: int, t_x: float, t: float) -> float:
    """FHL 2005 eq. 6, written out term by term with math.lgamma."""
    a1 = math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha)
    a2 = math.lgamma(a + b) + math.lgamma(b + x) - math.lgamma(b) - math.lgamma(a + b + x)
    a3 = math.exp(-(r + x) * math.log(alpha + t))
    a4 = (a / (b + x - 1)) * (alpha + t_x) ** -(r + x) if x > 0 else 0.0
    return a1 + a2 + math.log(a3 + a4)


@pytest.mark.parametrize(("x", "t_x", "t"), [(0, 0.0, 38.86), (2, 30.43, 38.86), (5, 10.0, 20.0)])
def test_log_likelihood_matches_a_hand_computation(x: int, t_x: float, t: float) -> None:
    got = btyd.bgnbd_log_likelihood(R, ALPHA, A, B, np.array([x]), np.array([t_x]), np.array([t]))

    assert got[0] == pytest.approx(hand_ll(R, ALPHA, A, B, x, t_x, t), rel=1e-10)


def test_p_alive_matches_the_formula_and_falls_with_silence() -> None:
    model = btyd.BgNbd(R, ALPHA, A, B, 0.0, True)
    silences = np.array([1.0, 10.0, 20.0, 30.0])  # the last purchase this long before T = 39
    alive = btyd.p_alive(model, np.full(4, 3.0), 39.0 - silences, np.full(4, 39.0))

    # By hand for the first: 1 / (1 + a/(b+x-1) * ((α+T)/(α+t_x))^(r+x)).
    by_hand = 1 / (1 + (A / (B + 2)) * ((ALPHA + 39) / (ALPHA + 38)) ** (R + 3))
    assert alive[0] == pytest.approx(by_hand)
    assert list(alive) == sorted(alive, reverse=True)
    assert alive[-1] < 0.5 < alive[0]
    # No repeat purchase: the BG/NBD customer cannot have dropped out yet.
    assert btyd.p_alive(model, np.array([0.0]), np.array([0.0]), np.array([39.0]))[0] == 1.0


def test_expected_purchases_grow_with_the_horizon_and_frequency() -> None:
    model = btyd.BgNbd(R, ALPHA, A, B, 0.0, True)
    x, t_x, t = np.array([1.0, 5.0]), np.array([30.0, 30.0]), np.array([39.0, 39.0])

    short = btyd.expected_purchases(model, 10, x, t_x, t)
    long = btyd.expected_purchases(model, 52, x, t_x, t)

    assert np.all(long > short)
    assert short[1] > short[0]
    # A brand-new customer (x=0, T→0) expects the population rate: E = (a+b-1)/(a-1)·[1-(α/(α+t))^r · 2F1(...)]
    fresh = btyd.expected_purchases(model, 52, np.array([0.0]), np.array([0.0]), np.array([1e-9]))
    from scipy import special

    z = 52 / (ALPHA + 52)
    by_hand = (
        (A + B - 1)
        / (A - 1)
        * (1 - (ALPHA / (ALPHA + 52)) ** R * special.hyp2f1(R, B, A + B - 1, z))
    )
    assert fresh[0] == pytest.approx(by_hand, rel=1e-6)


def test_parameters_are_recovered_from_simulated_data() -> None:
    rng = np.random.default_rng(2005)
    n = 4000
    big_t = rng.uniform(20.0, 39.0, size=n)  # customers arrive over the first weeks
    x, t_x = btyd.bgnbd_simulate(R, ALPHA, A, B, big_t, rng)

    fitted = btyd.bgnbd_fit(x, t_x, big_t)

    assert fitted.r == pytest.approx(R, rel=0.2)
    assert fitted.alpha == pytest.approx(ALPHA, rel=0.3)
    assert fitted.a == pytest.approx(A, rel=0.35)
    assert fitted.b == pytest.approx(B, rel=0.45)
    # The fit is a maximum: the true parameters explain the data no better.
    truth = float(np.sum(btyd.bgnbd_log_likelihood(R, ALPHA, A, B, x, t_x, big_t)))
    assert fitted.log_likelihood >= truth


def test_gamma_gamma_recovers_spend_parameters() -> None:
    rng = np.random.default_rng(2013)
    p, q, v = 6.25, 3.74, 15.44  # Fader & Hardie's CDNOW spend estimates
    n = 3000
    x = rng.integers(1, 8, size=n).astype(float)
    nu = rng.gamma(q, 1.0 / v, size=n)
    m = np.array([rng.gamma(p, 1.0 / nu[i], size=int(x[i])).mean() for i in range(n)])

    fitted = btyd.gamma_gamma_fit(x, m)

    assert fitted.p == pytest.approx(p, rel=0.25)
    assert fitted.q == pytest.approx(q, rel=0.25)
    assert fitted.v == pytest.approx(v, rel=0.35)
    spend = btyd.expected_spend(fitted, np.array([1.0, 20.0]), np.array([50.0, 50.0]))
    population = fitted.p * fitted.v / (fitted.q - 1)
    # Few purchases: pulled toward the population mean; many: close to the member's own mean.
    assert abs(spend[0] - population) < abs(50 - population)
    assert abs(spend[1] - 50) < abs(spend[0] - 50)


# -- on a community's own orders -------------------------------------------------------------


def _pay(member_id: int, community_id: int, moment: datetime, n: int, yuan: int) -> None:
    activity_record(
        kind=ActivityKind.PAY,
        occurred_at=moment,
        member_id=member_id,
        community_id=community_id,
        amount=Money(yuan * 100, "CNY"),
        object_type="product",
        object_id="1",
        data={"order": f"O{member_id}-{n}"},
    )


def _shop(frozen_clock: Any, buyers: int = 60) -> Any:
    frozen_clock.set(timezone.make_aware(datetime(2026, 6, 30, 12)))
    circle = community()
    rng = np.random.default_rng(7)
    start = date(2026, 1, 1)
    big_t = np.array(
        [(date(2026, 6, 30) - start).days - rng.integers(0, 60) for _ in range(buyers)], float
    )
    x, t_x = btyd.bgnbd_simulate(0.5, 20.0, 0.6, 3.0, big_t, rng)
    for i in range(buyers):
        person = member()
        first = timezone.make_aware(datetime(2026, 6, 30, 10)) - timedelta(days=float(big_t[i]))
        _pay(person.pk, circle.pk, first, 0, int(rng.integers(30, 200)))
        gaps = np.sort(rng.uniform(0, t_x[i], size=max(int(x[i]) - 1, 0)))
        days = [*gaps, t_x[i]] if x[i] > 0 else []
        for n, gap in enumerate(days, start=1):
            _pay(
                person.pk,
                circle.pk,
                first + timedelta(days=float(gap)),
                n,
                int(rng.integers(30, 200)),
            )
    return circle


@pytest.mark.django_db
def test_fit_on_a_community_stores_each_members_value(frozen_clock: Any) -> None:
    circle = _shop(frozen_clock)

    fit = value_fit(community=circle, unit="week")

    assert fit.members == MemberValue.objects.filter(fit=fit).count() > 0
    assert min(fit.r, fit.alpha, fit.a, fit.b) > 0
    values = list(MemberValue.objects.filter(fit=fit))
    assert all(0 <= v.p_alive <= 1 for v in values)
    assert all(v.clv_minor >= 0 for v in values)
    # Frequency is distinct purchase days after the first, never more than the orders.
    assert all(v.frequency >= 0 for v in values)


@pytest.mark.django_db
def test_cli_prints_the_parameters_and_refuses_bad_input(frozen_clock: Any, capsys: Any) -> None:
    circle = _shop(frozen_clock)

    with pytest.raises(SystemExit) as ok:
        main(["analytics", "clv", "--community", circle.slug, "--unit", "week", "--json"])
    assert ok.value.code in (0, None)
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) >= {"r", "alpha", "a", "b", "log_likelihood", "members"}
    fit = ValueFit.objects.get()
    assert printed["log_likelihood"] == pytest.approx(fit.log_likelihood)
    assert printed["members"] == fit.members

    for args, says in [
        (["--until", "2099-01-01"], "future"),
        (["--unit", "month"], "month"),
    ]:
        with pytest.raises(SystemExit) as refused:
            main(["analytics", "clv", "--community", circle.slug, *args])
        assert refused.value.code != 0
        assert says in capsys.readouterr().err

    empty = community()
    with pytest.raises(SystemExit) as too_few:
        main(["analytics", "clv", "--community", empty.slug])
    assert too_few.value.code == 1
    err = capsys.readouterr().err
    assert "at least 20 buyers" in err
    assert err.count("\n") == 1


@pytest.mark.django_db
def test_too_few_buyers_is_a_clear_refusal(frozen_clock: Any) -> None:
    circle = _shop(frozen_clock, buyers=5)

    with pytest.raises(NotEnoughBuyers, match="5 buyer"):
        value_fit(community=circle)


@pytest.mark.django_db
def test_valuable_members_going_quiet_are_listed_for_recall(frozen_clock: Any) -> None:
    circle = _shop(frozen_clock)
    value_fit(community=circle, unit="week")
    # Three months pass with no orders: everyone's P(alive) falls, the valuable first in line.
    frozen_clock.advance(timedelta(days=90))

    value_fit(community=circle, unit="week")
    slipping = slipping_members(circle)

    assert slipping
    assert all(s.p_alive_before is not None and s.p_alive < s.p_alive_before for s in slipping)
    risks = [s.at_risk_minor for s in slipping]
    assert risks == sorted(risks, reverse=True)
