"""The ledger under real concurrency and the database's own guards (PostgreSQL only)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from quanzi.core import selectors
from quanzi.core.models import Activity, LedgerAccount, LedgerEntry, LedgerTransaction
from quanzi.core.services.activity import activity_record
from quanzi.core.services.ledger import InsufficientFunds, Leg, ledger_post
from quanzi.core.tests.factories import account, fund, ledger_state

pytestmark = pytest.mark.postgres


def _in_threads(count: int, target: Callable[[int], Any]) -> list[Any]:
    """Run ``target(i)`` in ``count`` real threads released together; return what each gave."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=20)
            results[i] = target(i)
        except Exception as exc:  # the test asserts on what each thread met
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)
    return results


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_withdrawals_from_thirty_spend_exactly_thirty() -> None:
    # Given a non-negative wallet holding 30
    wallet = account("wallet", allow_negative=False)
    shop = account("shop")
    fund(wallet, 30)

    # When 50 threads each withdraw 1 at the same moment
    def withdraw(i: int) -> LedgerTransaction:
        return ledger_post(
            legs=[Leg(account=wallet, amount=-1), Leg(account=shop, amount=1)], kind="spend"
        )

    results = _in_threads(50, withdraw)

    # Then
    posted = [r for r in results if isinstance(r, LedgerTransaction)]
    refused = [r for r in results if isinstance(r, InsufficientFunds)]
    assert (len(posted), len(refused)) == (30, 20), [r for r in results if isinstance(r, Exception)]
    wallet.refresh_from_db()
    shop.refresh_from_db()
    assert (wallet.balance, shop.balance) == (0, 30)
    assert selectors.ledger_balance_derived(account=wallet) == 0
    # Each withdrawal saw the balance the one before it left: 29, 28, ... 0, each exactly once.
    after = sorted(
        LedgerEntry.objects.filter(account=wallet, amount=-1).values_list(
            "balance_after", flat=True
        )
    )
    assert after == list(range(30))
    assert selectors.ledger_drift() == []
    assert selectors.ledger_unbalanced_transactions() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_postings_with_one_idempotency_key_post_once() -> None:
    # Given
    source, target = account("src"), account("dst")

    # When ten threads post the same keyed transfer at once
    def post(i: int) -> LedgerTransaction:
        return ledger_post(
            legs=[Leg(account=source, amount=-100), Leg(account=target, amount=100)],
            kind="pay",
            idempotency_key="order:1:pay",
        )

    results = _in_threads(10, post)

    # Then every thread got the one transaction
    assert all(isinstance(r, LedgerTransaction) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert LedgerTransaction.objects.filter(idempotency_key="order:1:pay").count() == 1
    target.refresh_from_db()
    assert target.balance == 100
    assert LedgerEntry.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_posting_waits_for_the_account_row_lock_before_writing() -> None:
    # Given another transaction holding the wallet's row lock
    wallet = account("wallet", allow_negative=False)
    shop = account("shop")
    fund(wallet, 10)
    locked, release = threading.Event(), threading.Event()
    posted_at: list[float] = []
    released_at: list[float] = []

    def hold_lock() -> None:
        try:
            with transaction.atomic():
                LedgerAccount.objects.select_for_update().get(pk=wallet.pk)
                locked.set()
                release.wait(timeout=10)
                released_at.append(time.monotonic())
        finally:
            connection.close()

    def spend() -> None:
        try:
            ledger_post(
                legs=[Leg(account=wallet, amount=-10), Leg(account=shop, amount=10)], kind="spend"
            )
            posted_at.append(time.monotonic())
        finally:
            connection.close()

    holder = threading.Thread(target=hold_lock)
    holder.start()
    assert locked.wait(timeout=10)

    # When a posting starts while the lock is held
    poster = threading.Thread(target=spend)
    poster.start()
    poster.join(timeout=0.5)

    # Then it has written nothing yet
    assert poster.is_alive()
    assert posted_at == []
    assert LedgerAccount.objects.get(pk=wallet.pk).balance == 10
    assert LedgerEntry.objects.filter(account=wallet, amount=-10).count() == 0

    # And once the lock is released it completes
    release.set()
    holder.join(timeout=10)
    poster.join(timeout=10)
    assert len(posted_at) == 1
    assert posted_at[0] >= released_at[0]
    assert LedgerAccount.objects.get(pk=wallet.pk).balance == 0


@pytest.mark.django_db
def test_a_posting_locks_the_accounts_in_key_order_before_any_write() -> None:
    # Given
    a, b, c = account("a"), account("b"), account("c")

    # When
    with CaptureQueriesContext(connection) as queries:
        ledger_post(
            legs=[Leg(account=c, amount=-3), Leg(account=a, amount=1), Leg(account=b, amount=2)],
            kind="t",
        )

    # Then the first statement after the savepoint locks every touched account, by primary key
    sql = [
        q["sql"]
        for q in queries.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    assert "FOR UPDATE" in sql[0]
    assert 'ORDER BY "core_ledgeraccount"."id" ASC' in sql[0]
    assert all("FOR UPDATE" not in s for s in sql[1:])
    writes = [i for i, s in enumerate(sql) if s.startswith(("INSERT", "UPDATE"))]
    assert writes
    assert min(writes) > 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE core_activity SET content = 'edited'",
        "DELETE FROM core_activity",
        "UPDATE core_ledgerentry SET amount = amount * 2",
        "DELETE FROM core_ledgerentry",
        "UPDATE core_ledgertransaction SET memo = 'edited'",
    ],
)
def test_the_database_refuses_raw_edits_of_append_only_tables(statement: str) -> None:
    # Given
    activity_record(kind="post", content="hello")
    a, b = account("a"), account("b")
    ledger_post(legs=[Leg(account=a, amount=-5), Leg(account=b, amount=5)], kind="t")
    before = ledger_state()

    # When / Then
    with (
        pytest.raises(IntegrityError, match="is append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)

    assert ledger_state() == before
    assert list(Activity.objects.filter(kind="post").values_list("content", flat=True)) == ["hello"]


def _raw_posting(
    first: LedgerAccount, second: LedgerAccount, amounts: tuple[int, int], seen: list[int]
) -> int:
    """Write a transaction and its entries by hand, around the service, and commit it."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO core_ledgertransaction (kind, memo, occurred_at, created_at, "
            "object_type, object_id) VALUES ('raw', '', now(), now(), '', '') RETURNING id"
        )
        txn_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO core_ledgerentry (transaction_id, account_id, amount, currency, "
            "balance_after) VALUES (%s, %s, %s, 'CNY', 0), (%s, %s, %s, 'CNY', 0)",
            [txn_id, first.pk, amounts[0], txn_id, second.pk, amounts[1]],
        )
        cursor.execute("SELECT count(*) FROM core_ledgerentry WHERE transaction_id = %s", [txn_id])
        seen.append(cursor.fetchone()[0])
    return txn_id


@pytest.mark.django_db(transaction=True)
def test_the_database_refuses_unbalanced_entries_at_commit() -> None:
    # Given
    a, b = account("a"), account("b")
    before = ledger_state()
    seen: list[int] = []

    # When a hand-written transaction inserts entries that do not sum to zero
    with pytest.raises(IntegrityError, match="does not sum to zero"):
        _raw_posting(a, b, (-5, 4), seen)

    # Then each statement alone was accepted (the check waits for the commit) and nothing was kept
    assert seen == [2]
    assert ledger_state() == before
    assert not LedgerTransaction.objects.filter(kind="raw").exists()

    # And a balanced hand-written transaction commits
    txn_id = _raw_posting(a, b, (-5, 5), seen)
    assert LedgerEntry.objects.filter(transaction_id=txn_id).count() == 2
    assert selectors.ledger_unbalanced_transactions() == []
