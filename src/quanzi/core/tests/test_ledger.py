"""The double-entry ledger: postings, refusals, idempotent retries and reversals."""

from __future__ import annotations

import pytest

from quanzi.core import selectors
from quanzi.core.models import LedgerAccount, LedgerEntry, LedgerTransaction
from quanzi.core.models.activity import AppendOnlyError
from quanzi.core.services.ledger import (
    IdempotencyConflict,
    InsufficientFunds,
    LedgerError,
    Leg,
    ledger_account_get_or_create,
    ledger_post,
    ledger_reverse,
)
from quanzi.core.tests.factories import account, fund, ledger_state

pytestmark = pytest.mark.django_db


def test_a_posting_moves_the_balances_and_records_running_balances() -> None:
    # Given
    cash = account("cash")
    wallet = account("wallet", kind="liability", allow_negative=False)

    # When
    txn = ledger_post(
        legs=[Leg(account=cash, amount=-1250), Leg(account=wallet, amount=1250)],
        kind="crystals_earn",
        memo="posted a tip",
        actor_id=7,
        object_type="post",
        object_id=42,
    )

    # Then
    cash.refresh_from_db()
    wallet.refresh_from_db()
    assert (cash.balance, wallet.balance) == (-1250, 1250)
    entries = list(txn.entries.order_by("id").values_list("account_id", "amount", "balance_after"))
    assert entries == [(cash.pk, -1250, -1250), (wallet.pk, 1250, 1250)]
    assert set(txn.entries.values_list("currency", flat=True)) == {"CNY"}
    assert (txn.kind, txn.memo, txn.actor_id, txn.object_type, txn.object_id) == (
        "crystals_earn",
        "posted a tip",
        7,
        "post",
        "42",
    )
    assert selectors.ledger_balance_derived(account=wallet) == 1250
    assert selectors.ledger_drift() == []
    assert selectors.ledger_unbalanced_transactions() == []


def test_a_posting_may_touch_the_same_account_twice_and_three_accounts_at_once() -> None:
    # Given
    a, b, c = account("a"), account("b"), account("c")

    # When
    ledger_post(
        legs=[
            Leg(account=a, amount=-100),
            Leg(account=b, amount=60),
            Leg(account=c, amount=30),
            Leg(account=c, amount=10),
        ],
        kind="split",
    )

    # Then
    assert dict(
        LedgerAccount.objects.filter(pk__in=[a.pk, b.pk, c.pk]).values_list("pk", "balance")
    ) == {
        a.pk: -100,
        b.pk: 60,
        c.pk: 40,
    }
    assert list(
        LedgerEntry.objects.filter(account=c).order_by("id").values_list("balance_after", flat=True)
    ) == [30, 40]


def test_a_posting_is_a_pinned_number_of_queries(django_assert_num_queries) -> None:
    # Given
    a, b = account("a"), account("b")

    # When / Then: savepoint, lock, insert transaction, insert entries, one balance update, release
    with django_assert_num_queries(6):
        ledger_post(legs=[Leg(account=a, amount=-1), Leg(account=b, amount=1)], kind="t")


def test_a_posting_that_would_overdraw_a_non_negative_account_is_refused_and_changes_nothing() -> (
    None
):
    # Given
    wallet = account("wallet", allow_negative=False)
    shop = account("shop")
    fund(wallet, 500)
    before = ledger_state()

    # When
    with pytest.raises(InsufficientFunds) as refused:
        ledger_post(
            legs=[Leg(account=wallet, amount=-501), Leg(account=shop, amount=501)], kind="spend"
        )

    # Then
    assert refused.value.status == 409
    assert refused.value.code == "insufficient_funds"
    assert (
        refused.value.message == f"Account {wallet.code} holds 500, 501 would take it below zero."
    )
    assert ledger_state() == before

    # And the exact balance can still be spent.
    ledger_post(
        legs=[Leg(account=wallet, amount=-500), Leg(account=shop, amount=500)], kind="spend"
    )
    wallet.refresh_from_db()
    assert wallet.balance == 0


def test_the_non_negative_check_uses_the_locked_balance_not_the_callers_stale_copy() -> None:
    # Given a caller holding an account object read before it was funded
    wallet = account("wallet", allow_negative=False)
    stale = LedgerAccount.objects.get(pk=wallet.pk)
    fund(wallet, 300)

    # When
    ledger_post(
        legs=[Leg(account=stale, amount=-300), Leg(account=account("shop"), amount=300)],
        kind="spend",
    )

    # Then
    wallet.refresh_from_db()
    assert wallet.balance == 0


def test_a_retry_with_the_same_idempotency_key_returns_the_first_transaction_and_posts_nothing() -> (
    None
):
    # Given
    a, b = account("a"), account("b")
    legs = [Leg(account=a, amount=-200), Leg(account=b, amount=200)]
    first = ledger_post(legs=legs, kind="pay", idempotency_key="pay:1")
    before = ledger_state()

    # When
    again = ledger_post(legs=list(reversed(legs)), kind="pay", idempotency_key="pay:1")

    # Then
    assert again.pk == first.pk
    assert ledger_state() == before
    b.refresh_from_db()
    assert b.balance == 200


def test_the_same_idempotency_key_with_other_legs_is_a_conflict_and_posts_nothing() -> None:
    # Given
    a, b, c = account("a"), account("b"), account("c")
    ledger_post(
        legs=[Leg(account=a, amount=-200), Leg(account=b, amount=200)],
        kind="pay",
        idempotency_key="pay:2",
    )
    before = ledger_state()

    # When / Then: another amount
    with pytest.raises(IdempotencyConflict) as refused:
        ledger_post(
            legs=[Leg(account=a, amount=-201), Leg(account=b, amount=201)],
            kind="pay",
            idempotency_key="pay:2",
        )
    assert refused.value.status == 409
    assert refused.value.fields == {
        "idempotency_key": ["This idempotency key was used for a different posting."]
    }
    # and other accounts
    with pytest.raises(IdempotencyConflict):
        ledger_post(
            legs=[Leg(account=a, amount=-200), Leg(account=c, amount=200)],
            kind="pay",
            idempotency_key="pay:2",
        )
    assert ledger_state() == before


def test_a_reversal_posts_the_mirror_image_and_is_safe_to_repeat() -> None:
    # Given
    a = account("a")
    wallet = account("wallet", allow_negative=False)
    original = ledger_post(
        legs=[Leg(account=a, amount=-300), Leg(account=wallet, amount=300)],
        kind="reward",
        object_type="order",
        object_id="9",
    )

    # When
    reversal = ledger_reverse(txn=original, kind="reward_clawback", memo="refund", actor_id=3)
    before_again = ledger_state()
    again = ledger_reverse(txn=original, kind="reward_clawback")

    # Then
    assert again.pk == reversal.pk
    assert ledger_state() == before_again
    assert reversal.reverses_id == original.pk
    assert (reversal.kind, reversal.memo, reversal.actor_id) == ("reward_clawback", "refund", 3)
    assert (reversal.object_type, reversal.object_id) == ("order", "9")
    assert sorted(reversal.entries.values_list("account_id", "amount")) == sorted(
        [(a.pk, 300), (wallet.pk, -300)]
    )
    # The original stays exactly as it was.
    assert sorted(original.entries.values_list("account_id", "amount")) == sorted(
        [(a.pk, -300), (wallet.pk, 300)]
    )
    a.refresh_from_db()
    wallet.refresh_from_db()
    assert (a.balance, wallet.balance) == (0, 0)
    assert selectors.ledger_drift() == []


def test_a_reversal_that_would_overdraw_a_non_negative_account_is_refused() -> None:
    # Given crystals earned and then spent
    source, wallet, shop = account("src"), account("wallet", allow_negative=False), account("shop")
    earned = ledger_post(
        legs=[Leg(account=source, amount=-100), Leg(account=wallet, amount=100)], kind="earn"
    )
    ledger_post(legs=[Leg(account=wallet, amount=-80), Leg(account=shop, amount=80)], kind="spend")
    before = ledger_state()

    # When / Then
    with pytest.raises(InsufficientFunds):
        ledger_reverse(txn=earned, kind="clawback")
    assert ledger_state() == before


@pytest.mark.parametrize(
    ("make_legs", "message"),
    [
        (
            lambda a, b, k: [Leg(account=a, amount=-100), Leg(account=k, amount=100)],
            "All entries of a transaction share one currency.",
        ),
        (lambda a, b, k: [Leg(account=a, amount=100)], "A transaction needs at least two entries."),
        (lambda a, b, k: [], "A transaction needs at least two entries."),
        (
            lambda a, b, k: [Leg(account=a, amount=0), Leg(account=b, amount=0)],
            "An entry cannot be zero.",
        ),
        (
            lambda a, b, k: [Leg(account=a, amount=-100), Leg(account=b, amount=99)],
            "A transaction's entries must sum to zero.",
        ),
        (
            lambda a, b, k: [Leg(account=a, amount=-1.5), Leg(account=b, amount=1.5)],
            "Amounts are whole minor units.",
        ),
        (
            lambda a, b, k: [Leg(account=a, amount=True), Leg(account=b, amount=-1)],
            "Amounts are whole minor units.",
        ),
        (
            lambda a, b, k: [
                Leg(account=a, amount=-1),
                Leg(account=LedgerAccount(code="x", currency="CNY"), amount=1),
            ],
            "Every entry needs a saved account.",
        ),
    ],
    ids=[
        "mixed-currencies",
        "single-leg",
        "no-legs",
        "zero",
        "unbalanced",
        "float",
        "bool",
        "unsaved-account",
    ],
)
def test_a_malformed_posting_is_refused_and_changes_nothing(make_legs, message: str) -> None:
    # Given
    a, b, krw = account("a"), account("b"), account("krw", currency="KRW")
    before = ledger_state()

    # When / Then
    with pytest.raises(LedgerError) as refused:
        ledger_post(legs=make_legs(a, b, krw), kind="bad", idempotency_key="bad:1")
    assert refused.value.message == message
    assert refused.value.fields == {"legs": [message]}
    assert refused.value.status == 422
    assert ledger_state() == before


def test_an_account_is_created_once_and_its_rules_never_change() -> None:
    # Given
    first = ledger_account_get_or_create(
        code="crystals:member:1", kind="liability", currency="CRY", allow_negative=False
    )

    # When the same account is declared again with the same rules
    same = ledger_account_get_or_create(
        code="crystals:member:1", kind="liability", currency="CRY", allow_negative=False, name="x"
    )

    # Then
    assert same.pk == first.pk

    # And every other set of rules is refused, changing nothing.
    for other in (
        {"kind": "asset", "currency": "CRY", "allow_negative": False},
        {"kind": "liability", "currency": "CNY", "allow_negative": False},
        {"kind": "liability", "currency": "CRY", "allow_negative": True},
    ):
        with pytest.raises(LedgerError) as refused:
            ledger_account_get_or_create(code="crystals:member:1", **other)
        assert refused.value.message == "Account crystals:member:1 exists with other rules."
    assert list(
        LedgerAccount.objects.filter(code="crystals:member:1").values_list(
            "kind", "currency", "allow_negative"
        )
    ) == [("liability", "CRY", False)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"code": "x", "kind": "treasure", "currency": "CNY"}, "Unknown account kind 'treasure'."),
        (
            {"code": "", "kind": "asset", "currency": "CNY"},
            "An account needs a code and a currency.",
        ),
        ({"code": "x", "kind": "asset", "currency": ""}, "An account needs a code and a currency."),
    ],
)
def test_an_account_needs_a_known_kind_a_code_and_a_currency(kwargs, message: str) -> None:
    with pytest.raises(LedgerError) as refused:
        ledger_account_get_or_create(**kwargs)
    assert refused.value.message == message
    assert LedgerAccount.objects.count() == 0


def test_ledger_records_are_append_only_in_python() -> None:
    # Given
    a, b = account("a"), account("b")
    txn = ledger_post(legs=[Leg(account=a, amount=-5), Leg(account=b, amount=5)], kind="t")
    entry = txn.entries.get(account=b)
    before = ledger_state()

    # When / Then
    entry.amount = 6
    with pytest.raises(AppendOnlyError):
        entry.save()
    with pytest.raises(AppendOnlyError):
        entry.delete()
    with pytest.raises(AppendOnlyError):
        txn.delete()
    txn.memo = "edited"
    with pytest.raises(AppendOnlyError):
        txn.save()
    with pytest.raises(AppendOnlyError):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=6)
    with pytest.raises(AppendOnlyError):
        LedgerEntry.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        LedgerTransaction.objects.filter(pk=txn.pk).update(memo="edited")
    with pytest.raises(AppendOnlyError):
        LedgerTransaction.objects.all().delete()
    assert ledger_state() == before
    assert LedgerEntry.objects.get(pk=entry.pk).amount == 5
    assert LedgerTransaction.objects.get(pk=txn.pk).memo == ""


def test_drift_names_an_account_whose_cached_balance_disagrees_with_its_entries() -> None:
    # Given
    a, b = account("a"), account("b")
    ledger_post(legs=[Leg(account=a, amount=-5), Leg(account=b, amount=5)], kind="t")

    # When the cache is corrupted behind the service's back
    LedgerAccount.objects.filter(pk=b.pk).update(balance=7)

    # Then
    assert [(d.code, d.cached, d.derived) for d in selectors.ledger_drift()] == [(b.code, 7, 5)]
