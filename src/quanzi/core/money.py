"""Money: integer minor units (fen) with an ISO 4217 currency code. No floats, ever.

WeChat Pay counts in fen, and so do we: ``Money(123450, "CNY")`` is ¥1,234.50.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from django.utils.translation import gettext as _

from quanzi.core.errors import ApplicationError

# Currencies our users price in, with their minor-unit exponent and the sign shown before them.
CURRENCIES: Final[dict[str, tuple[int, str]]] = {
    "CNY": (2, "¥"),
    "HKD": (2, "HK$"),
    "TWD": (2, "NT$"),
    "USD": (2, "$"),
    "EUR": (2, "€"),
    "KRW": (0, "₩"),
    "JPY": (0, "¥"),
}

_AMOUNT = re.compile(r"^(?P<sign>[-+]?)(?P<units>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<fraction>\d+))?$")


class MoneyError(ApplicationError):
    code = "invalid_money"


def currency_exponent(currency: str) -> int:
    try:
        return CURRENCIES[currency][0]
    except KeyError:
        raise MoneyError(
            _("Unknown currency %(currency)r.") % {"currency": currency}, field="currency"
        ) from None


@dataclass(frozen=True, slots=True, order=False)
class Money:
    """An amount in minor units. Arithmetic is only defined within one currency."""

    minor: int
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise MoneyError(
                _("Money holds whole minor units, not %(type)s.")
                % {"type": type(self.minor).__name__}
            )
        currency_exponent(self.currency)

    @classmethod
    def zero(cls, currency: str = "CNY") -> Money:
        return cls(0, currency)

    @classmethod
    def parse(cls, text: str, currency: str = "CNY") -> Money:
        """Parse what a person types: ``12.5``, ``1,234.50``, ``¥1,234.50``, ``-3``.

        Refuses what would lose precision (``0.001`` yuan), a comma as decimal mark (``12,5``)
        and anything that is not a plain amount.
        """
        exponent = currency_exponent(currency)
        raw = text.strip() if isinstance(text, str) else text
        if not isinstance(raw, str) or not raw:
            raise MoneyError(_("An amount is required."), field="amount")
        body = raw.replace(" ", "")
        negative = body.startswith("-")
        if body[:1] in "+-":
            body = body[1:]
        # Only this currency's own sign: "$5" typed into a CNY price is not ¥5.
        symbol = CURRENCIES[currency][1]
        if body.startswith(symbol):
            body = body[len(symbol) :]
        if negative:
            body = "-" + body
        match = _AMOUNT.match(body)
        if not match:
            raise MoneyError(
                _("%(text)r is not an amount; write it like 1234.50 or ¥1,234.50.")
                % {"text": text},
                field="amount",
            )
        fraction = match.group("fraction") or ""
        if len(fraction) > exponent:
            raise MoneyError(
                _("%(text)r has more than %(places)s decimal places for %(currency)s.")
                % {"text": text, "places": exponent, "currency": currency},
                field="amount",
            )
        units = int(match.group("units").replace(",", ""))
        minor = units * 10**exponent + int(fraction.ljust(exponent, "0") or "0")
        return cls(-minor if match.group("sign") == "-" else minor, currency)

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money):
            raise TypeError(f"cannot combine Money with {type(other).__name__}")
        if other.currency != self.currency:
            raise MoneyError(
                _("Cannot combine %(first)s with %(second)s.")
                % {"first": self.currency, "second": other.currency}
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.minor, self.currency)

    def __mul__(self, factor: int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, int):
            raise TypeError("Money multiplies by whole numbers only; use allocate() for shares")
        return Money(self.minor * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor < other.minor

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.minor <= other.minor

    def __gt__(self, other: Money) -> bool:
        self._same(other)
        return self.minor > other.minor

    def __ge__(self, other: Money) -> bool:
        self._same(other)
        return self.minor >= other.minor

    def __bool__(self) -> bool:
        return self.minor != 0

    def allocate(self, weights: list[int]) -> list[Money]:
        """Split into parts proportional to ``weights``; the parts always sum to the whole.

        Largest remainder: each part gets its exact share rounded down, and the leftover minor
        units go one each to the parts that lost the most in rounding (the earlier part on a
        tie), so no part is ever a whole fen away from its exact share.
        """
        if not weights or any(w < 0 for w in weights) or sum(weights) == 0:
            raise MoneyError(_("Weights must be non-negative and not all zero."))
        total = sum(weights)
        sign = -1 if self.minor < 0 else 1
        whole = abs(self.minor)
        parts = [whole * w // total for w in weights]
        # A part weighted 0 has no remainder and so never receives a leftover unit.
        by_remainder = sorted(range(len(weights)), key=lambda i: (-(whole * weights[i] % total), i))
        for i in by_remainder[: whole - sum(parts)]:
            parts[i] += 1
        return [Money(sign * p, self.currency) for p in parts]

    def percent(self, basis_points: int) -> Money:
        """``basis_points`` / 10,000 of this amount, rounded half away from zero to a fen."""
        numerator = abs(self.minor) * abs(basis_points)
        minor = (numerator + 5_000) // 10_000
        negative = (self.minor < 0) != (basis_points < 0)
        return Money(-minor if negative else minor, self.currency)

    def format(self, *, symbol: bool = True) -> str:
        """``¥1,234.50``; negative amounts as ``-¥3.00``."""
        exponent, sign = CURRENCIES[self.currency]
        whole, fraction = divmod(abs(self.minor), 10**exponent)
        text = f"{whole:,}"
        if exponent:
            text += f".{fraction:0{exponent}d}"
        if symbol:
            text = sign + text
        return ("-" if self.minor < 0 else "") + text

    def __str__(self) -> str:
        return self.format()

    def as_decimal_string(self) -> str:
        """``1234.50``: the plain form for CSV, Excel and JSON amounts in yuan."""
        return self.format(symbol=False).replace(",", "")
