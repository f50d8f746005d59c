"""Two levels at most: the direct referrer earns; the one who brought them earns only when the
operator enabled the second level; nobody ever earns at a third, whatever chain exists; and
nobody earns on their own purchase at any level."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from quanzi.communities.models import Community
from quanzi.communities.tests.factories import community
from quanzi.distribution.models import Commission, MemberReferral
from quanzi.distribution.tests.factories import (
    approved,
    in_payout,
    payable,
    pending,
    percent,
    shared,
)
from quanzi.distribution.tests.kit import books_balanced, earned, terms, visit
from quanzi.members.models import Member
from quanzi.members.tests.factories import member
from quanzi.orders.tests.factories import goods

pytestmark = pytest.mark.django_db


def brings(home: Community, referrer: Member, newcomer: Member) -> None:
    """``newcomer``, who never bought here, arrives through ``referrer``'s link."""
    visit(home, referrer, newcomer)
    assert MemberReferral.objects.get(community=home, member=newcomer).referrer_id == referrer.pk


def test_the_second_level_pays_only_when_the_operator_enables_it(frozen_clock: Any) -> None:
    # Given: U brought S; both approved; 10 % at level 1 and 3 % at level 2
    home = community()
    sku = goods(home, price_minor=10_000)
    upline, sharer = member(), member()
    approved(home, upline)
    approved(home, sharer)
    brings(home, upline, sharer)
    percent(home, 1_000)
    percent(home, 300, level=2)

    # When: the second level is off (the default) and S's friend buys
    shared(sku, sharer, member())

    # Then: only S earns
    assert earned(sharer) == [(1, 1_000)]
    assert earned(upline) == []

    # When: the operator enables it and another friend buys through S
    terms(home, second_level=True)
    shared(sku, sharer, member())

    # Then: U earns 3 % at level 2 on that sale, not retroactively on the first
    assert earned(sharer) == [(1, 1_000), (1, 1_000)]
    assert earned(upline) == [(2, 300)]
    assert (pending(home, sharer), pending(home, upline)) == (2_000, 300)
    books_balanced()


def test_no_third_level_even_when_a_chain_of_three_referrers_exists(frozen_clock: Any) -> None:
    # Given: A brought B, B brought C; all approved; rules at both levels; second level on
    home = community()
    terms(home, second_level=True)
    sku = goods(home, price_minor=10_000)
    a, b, c = member(), member(), member()
    for who in (a, b, c):
        approved(home, who)
    brings(home, a, b)
    brings(home, b, c)
    percent(home, 1_000)
    percent(home, 300, level=2)

    # When: C's friend D buys through C's link
    shared(sku, c, member())

    # Then: C at level 1, B at level 2, A nothing at all
    assert earned(c) == [(1, 1_000)]
    assert earned(b) == [(2, 300)]
    assert earned(a) == []
    assert not Commission.objects.filter(level__gt=2).exists()
    assert (pending(home, a), payable(home, a), in_payout(home, a)) == (0, 0, 0)
    books_balanced()


def test_the_buyer_never_earns_at_the_second_level_on_their_own_purchase(
    frozen_clock: Any,
) -> None:
    # Given: U brought S; second level on
    home = community()
    terms(home, second_level=True)
    sku = goods(home, price_minor=10_000)
    upline, sharer = member(), member()
    approved(home, upline)
    approved(home, sharer)
    brings(home, upline, sharer)
    percent(home, 1_000)
    percent(home, 300, level=2)

    # When: U buys through S's link
    shared(sku, sharer, upline)

    # Then: S earns as the direct referrer; U earns nothing on their own purchase
    assert earned(sharer) == [(1, 1_000)]
    assert earned(upline) == []
    assert pending(home, upline) == 0


@pytest.mark.parametrize("loop", [2, 3])
def test_whoever_brought_a_sharer_is_never_counted_as_brought_by_them(
    frozen_clock: Any, loop: int
) -> None:
    # Given: U (who never bought anything) brought S (and S brought T); later U opens the
    # link of the last one in that chain
    home = community()
    terms(home, second_level=True)
    sku = goods(home, price_minor=10_000)
    chain = [member() for _ in range(loop)]
    for who in chain:
        approved(home, who)
    for referrer, newcomer in pairwise(chain):
        brings(home, referrer, newcomer)
    upline, last = chain[0], chain[-1]
    visit(home, last, upline)
    percent(home, 1_000)
    percent(home, 300, level=2)

    # When: a friend buys through U's link
    shared(sku, upline, member())

    # Then: U is nobody's referral (no loop), so only U earns
    assert not MemberReferral.objects.filter(member=upline).exists()
    assert earned(upline) == [(1, 1_000)]
    for downline in chain[1:]:
        assert earned(downline) == []


def test_the_second_level_needs_an_approved_distributor_and_a_level_two_rule(
    frozen_clock: Any,
) -> None:
    # Given: U brought S, second level on, but U never applied; only a level-1 rule
    home = community()
    terms(home, second_level=True)
    sku = goods(home, price_minor=10_000)
    upline, sharer = member(), member()
    approved(home, sharer)
    brings(home, upline, sharer)
    percent(home, 1_000)

    # When
    shared(sku, sharer, member())

    # Then: U earns nothing (not a distributor)
    assert earned(upline) == []

    # When: U is approved but there is still no level-2 rule
    approved(home, upline)
    shared(sku, sharer, member())

    # Then: still nothing at level 2 (a level-1 rule never pays the second level)
    assert earned(upline) == []
    assert earned(sharer) == [(1, 1_000), (1, 1_000)]
