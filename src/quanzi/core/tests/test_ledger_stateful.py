"""Random postings among a few accounts keep the books balanced, whatever the order."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)

from quanzi.core import selectors
from quanzi.core.models import LedgerAccount, LedgerTransaction
from quanzi.core.services.ledger import (
    IdempotencyConflict,
    InsufficientFunds,
    Leg,
    ledger_post,
    ledger_reverse,
)
from quanzi.core.tests.factories import account, ledger_state

_keys = itertools.count(1)
ACCOUNTS = 4  # two that may go negative (cash, income), two that may not (wallets)
amounts = st.integers(min_value=1, max_value=500)
indexes = st.integers(min_value=0, max_value=ACCOUNTS - 1)


class LedgerMachine(RuleBasedStateMachine):
    posted = Bundle("posted")

    @initialize()
    def open_accounts(self) -> None:
        # Every run of the machine shares one test transaction: fresh accounts keep runs apart.
        self.accounts = [
            account("cash", kind="asset"),
            account("income", kind="income"),
            account("wallet", kind="liability", allow_negative=False),
            account("wallet", kind="liability", allow_negative=False),
        ]
        self.expected = {a.pk: 0 for a in self.accounts}
        self.mine: set[int] = set()

    def _post(self, legs: list[Leg], **kwargs: object) -> LedgerTransaction | None:
        before = ledger_state()
        would_be = dict(self.expected)
        for leg in legs:
            would_be[leg.account.pk] += leg.amount
        overdraws = any(would_be[a.pk] < 0 for a in self.accounts if not a.allow_negative)
        try:
            txn = ledger_post(legs=legs, **kwargs)  # type: ignore[arg-type]
        except InsufficientFunds:
            assert overdraws
            assert ledger_state() == before
            return None
        assert not overdraws
        self.expected = would_be
        self.mine.add(txn.pk)
        return txn

    @rule(target=posted, source=indexes, target_account=indexes, amount=amounts)
    def transfer(self, source: int, target_account: int, amount: int) -> object:
        if source == target_account:
            return multiple()
        txn = self._post(
            [
                Leg(account=self.accounts[source], amount=-amount),
                Leg(account=self.accounts[target_account], amount=amount),
            ],
            kind="transfer",
        )
        return multiple() if txn is None else txn

    @rule(target=posted, source=indexes, split=st.lists(amounts, min_size=2, max_size=3))
    def split(self, source: int, split: list[int]) -> object:
        others = [a for i, a in enumerate(self.accounts) if i != source]
        legs = [Leg(account=self.accounts[source], amount=-sum(split))]
        legs += [Leg(account=others[i], amount=part) for i, part in enumerate(split)]
        txn = self._post(legs, kind="split")
        return multiple() if txn is None else txn

    @rule(source=indexes, target_account=indexes, amount=amounts)
    def retry_with_the_same_key(self, source: int, target_account: int, amount: int) -> None:
        if source == target_account:
            return
        key = f"machine:{next(_keys)}"
        legs = [
            Leg(account=self.accounts[source], amount=-amount),
            Leg(account=self.accounts[target_account], amount=amount),
        ]
        first = self._post(legs, kind="keyed", idempotency_key=key)
        if first is None:
            return
        after_first = ledger_state()
        assert ledger_post(legs=legs, kind="keyed", idempotency_key=key).pk == first.pk
        with pytest.raises(IdempotencyConflict):
            ledger_post(
                legs=[Leg(account=leg.account, amount=leg.amount * 2) for leg in legs],
                kind="keyed",
                idempotency_key=key,
            )
        assert ledger_state() == after_first

    @rule(txn=consumes(posted))
    def reverse(self, txn: LedgerTransaction) -> None:
        before = ledger_state()
        would_be = dict(self.expected)
        for account_id, amount in txn.entries.values_list("account_id", "amount"):
            would_be[account_id] -= amount
        overdraws = any(would_be[a.pk] < 0 for a in self.accounts if not a.allow_negative)
        try:
            reversal = ledger_reverse(txn=txn, kind="reversal")
        except InsufficientFunds:
            assert overdraws
            assert ledger_state() == before
            return
        assert not overdraws
        self.expected = would_be
        assert reversal.reverses_id == txn.pk
        # A second call returns the same reversal and moves nothing.
        after = ledger_state()
        assert ledger_reverse(txn=txn, kind="reversal").pk == reversal.pk
        assert ledger_state() == after

    @invariant()
    def cached_balances_equal_the_sum_of_entries_and_the_model(self) -> None:
        cached = dict(
            LedgerAccount.objects.filter(pk__in=self.expected).values_list("pk", "balance")
        )
        assert cached == self.expected
        for acct in self.accounts:
            assert selectors.ledger_balance_derived(account=acct) == self.expected[acct.pk]

    @invariant()
    def every_transaction_sums_to_zero(self) -> None:
        assert selectors.ledger_unbalanced_transactions() == []

    @invariant()
    def non_negative_accounts_never_go_below_zero(self) -> None:
        for acct in self.accounts:
            if not acct.allow_negative:
                assert self.expected[acct.pk] >= 0


@pytest.mark.django_db
def test_random_postings_keep_the_books_balanced() -> None:
    from hypothesis.stateful import run_state_machine_as_test

    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=30,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            database=None,
        ),
    )
    # The machine posted something at all (a run of refusals would prove little).
    assert LedgerTransaction.objects.count() > 0
