"""Money: what a person types, what they read back, and how amounts are split."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from quanzi.core.money import Money, MoneyError


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("¥1,234.50", "CNY", 123450),
        ("1,234.50", "CNY", 123450),
        ("1234.5", "CNY", 123450),
        ("12.5", "CNY", 1250),
        ("-3", "CNY", -300),
        ("-¥3.00", "CNY", -300),
        ("¥-3.00", "CNY", -300),
        (" ¥ 1 234 ", "CNY", 123400),
        ("+7.01", "CNY", 701),
        ("0", "CNY", 0),
        ("₩1,000", "KRW", 1000),
        ("1000", "KRW", 1000),
        ("HK$12.30", "HKD", 1230),
        ("$0.99", "USD", 99),
    ],
)
def test_parse_reads_what_a_person_types(text: str, currency: str, minor: int) -> None:
    # When
    money = Money.parse(text, currency)

    # Then
    assert money == Money(minor, currency)


@pytest.mark.parametrize(
    ("text", "currency", "message"),
    [
        ("12,5", "CNY", "'12,5' is not an amount; write it like 1234.50 or ¥1,234.50."),
        ("1,23,456", "CNY", "'1,23,456' is not an amount; write it like 1234.50 or ¥1,234.50."),
        ("0.001", "CNY", "'0.001' has more than 2 decimal places for CNY."),
        ("1000.5", "KRW", "'1000.5' has more than 0 decimal places for KRW."),
        ("abc", "CNY", "'abc' is not an amount; write it like 1234.50 or ¥1,234.50."),
        ("1.", "CNY", "'1.' is not an amount; write it like 1234.50 or ¥1,234.50."),
        ("--3", "CNY", "'--3' is not an amount; write it like 1234.50 or ¥1,234.50."),
        ("", "CNY", "An amount is required."),
        ("   ", "CNY", "An amount is required."),
        ("12", "XYZ", "Unknown currency 'XYZ'."),
        # Another currency's sign is not this currency's amount.
        ("$5", "CNY", "'$5' is not an amount; write it like 1234.50 or ¥1,234.50."),
        ("HK$5", "USD", "'HK$5' is not an amount; write it like 1234.50 or ¥1,234.50."),
        ("₩1000", "CNY", "'₩1000' is not an amount; write it like 1234.50 or ¥1,234.50."),
    ],
)
def test_parse_refuses_what_is_not_a_plain_amount(text: str, currency: str, message: str) -> None:
    # When / Then
    with pytest.raises(MoneyError) as refused:
        Money.parse(text, currency)
    assert refused.value.message == message
    assert refused.value.code == "invalid_money"


@pytest.mark.parametrize("value", [12.5, 12, None, b"12"])
def test_parse_refuses_anything_but_text(value: object) -> None:
    with pytest.raises(MoneyError) as refused:
        Money.parse(value, "CNY")  # type: ignore[arg-type]
    assert refused.value.message == "An amount is required."
    assert refused.value.fields == {"amount": ["An amount is required."]}


@pytest.mark.parametrize("minor", [12.5, 1.0, True, "12", None])
def test_money_holds_whole_minor_units_only(minor: object) -> None:
    with pytest.raises(MoneyError) as refused:
        Money(minor, "CNY")  # type: ignore[arg-type]
    assert refused.value.message.startswith("Money holds whole minor units, not ")


def test_money_refuses_an_unknown_currency() -> None:
    with pytest.raises(MoneyError) as refused:
        Money(100, "BTC")
    assert refused.value.fields == {"currency": ["Unknown currency 'BTC'."]}


@pytest.mark.parametrize(
    ("money", "text", "plain"),
    [
        (Money(123450, "CNY"), "¥1,234.50", "1234.50"),
        (Money(-300, "CNY"), "-¥3.00", "-3.00"),
        (Money(5, "CNY"), "¥0.05", "0.05"),
        (Money(0, "CNY"), "¥0.00", "0.00"),
        (Money(1234567, "KRW"), "₩1,234,567", "1234567"),
        (Money(-1000, "KRW"), "-₩1,000", "-1000"),
        (Money(99, "USD"), "$0.99", "0.99"),
    ],
)
def test_format_shows_amounts_as_people_read_them(money: Money, text: str, plain: str) -> None:
    assert money.format() == text
    assert str(money) == text
    assert money.as_decimal_string() == plain


@given(minor=st.integers(min_value=-(10**15), max_value=10**15))
def test_format_then_parse_gives_back_the_same_money(minor: int) -> None:
    for currency in ("CNY", "KRW", "HKD"):
        money = Money(minor, currency)
        assert Money.parse(money.format(), currency) == money
        assert Money.parse(money.as_decimal_string(), currency) == money


def test_arithmetic_stays_within_one_currency() -> None:
    assert Money(150) + Money(50) == Money(200)
    assert Money(150) - Money(200) == Money(-50)
    assert -Money(3) == Money(-3)
    assert Money(3) * 4 == Money(12)
    assert Money(3) < Money(4)

    with pytest.raises(MoneyError) as refused:
        Money(100, "CNY") + Money(100, "KRW")
    assert refused.value.message == "Cannot combine CNY with KRW."
    with pytest.raises(TypeError):
        Money(100) * 1.5  # type: ignore[operator]


@given(
    minor=st.integers(min_value=-(10**12), max_value=10**12),
    weights=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=12).filter(
        lambda ws: sum(ws) > 0
    ),
)
def test_allocate_parts_sum_to_the_whole_and_follow_the_weights(
    minor: int, weights: list[int]
) -> None:
    # Given
    money = Money(minor, "CNY")

    # When
    parts = money.allocate(weights)

    # Then
    assert sum(p.minor for p in parts) == minor
    assert len(parts) == len(weights)
    total = sum(weights)
    for part, weight in zip(parts, weights, strict=True):
        assert part.currency == "CNY"
        # Each part is its exact share rounded down or up by at most one fen.
        exact = abs(minor) * weight / total
        assert abs(abs(part.minor) - exact) < 1
        assert part.minor * minor >= 0  # never the opposite sign of the whole
        if weight == 0:
            assert part.minor == 0


def test_allocate_breaks_remainder_ties_by_the_earlier_part() -> None:
    assert [p.minor for p in Money(100).allocate([1, 1, 1])] == [34, 33, 33]
    assert [p.minor for p in Money(-100).allocate([1, 1, 1])] == [-34, -33, -33]
    # A part weighted zero never receives the leftover fen.
    assert [p.minor for p in Money(1).allocate([0, 1, 1])] == [0, 1, 0]
    assert [p.minor for p in Money(5).allocate([0, 0, 3])] == [0, 0, 5]


@pytest.mark.parametrize("weights", [[], [0, 0], [1, -1]])
def test_allocate_refuses_weights_that_share_nothing(weights: list[int]) -> None:
    with pytest.raises(MoneyError) as refused:
        Money(100).allocate(weights)
    assert refused.value.message == "Weights must be non-negative and not all zero."


@pytest.mark.parametrize(
    ("minor", "basis_points", "expected"),
    [
        (10000, 1000, 1000),  # 10% of ¥100.00 is ¥10.00
        (1, 5000, 1),  # half a fen rounds away from zero
        (3, 5000, 2),  # 1.5 fen → 2
        (1, 4999, 0),
        (-1, 5000, -1),
        (-3, 5000, -2),
        (1, -5000, -1),
        (150, -5000, -75),
        (12345, 0, 0),
        (9999, 10000, 9999),
        (199, 250, 5),  # 4.975 fen → 5
    ],
)
def test_percent_rounds_half_away_from_zero(minor: int, basis_points: int, expected: int) -> None:
    assert Money(minor, "CNY").percent(basis_points) == Money(expected, "CNY")


def test_allocate_gives_leftover_fen_to_the_parts_that_lost_most_in_rounding() -> None:
    # Given exact shares 35.0, 0.05 and 139.95 of 175 fen
    # When / Then: the one leftover fen goes to the 139.95 part, not to the exact 35
    assert [p.minor for p in Money(175).allocate([675, 1, 2699])] == [35, 0, 140]
